"""The money and energy arithmetic of a rig (issue 10): efficiency, energy, power cost, revenue and profit.

Pure functions, no I/O. Coin amounts are integers of base units, computed in exact rationals from the
floats they start from (a float is a binary rational: `Fraction(x)` is exact). Fiat amounts are `Decimal`,
exact products of decimal inputs, rounded once at the end to `FIAT_PLACES` places (half-even).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

#: Fiat amounts (power cost, revenue, profit) are rounded to this many decimal places.
FIAT_PLACES = 8
_FIAT_STEP = Decimal(1).scaleb(-FIAT_PLACES)
_PREC = 100  # digits: every product here is exact (prices have <= 38 digits, amounts <= 19)
#: Joules per hashing unit: the unit named per algorithm, and hashes in that unit.
EFFICIENCY_UNITS: dict[str, tuple[str, float]] = {
    "sha256d": ("J/TH", 1e12),
    "scrypt": ("J/MH", 1e6),
    "ethash": ("J/MH", 1e6),
    "kawpow": ("J/MH", 1e6),
    "randomx": ("J/kH", 1e3),
}
_W_MIN_PER_KWH = 60_000  # 1 kWh = 3.6e6 J = 60,000 W·min


def efficiency(power_w: float | None, hashrate: float | None, algorithm: str) -> tuple[float | None, str | None]:
    """(joules per unit of work, unit) of a rig drawing `power_w` W at `hashrate` H/s: W / (H/s per unit).
    None when the power or the hashrate is unknown or not positive, or the algorithm has no unit."""
    unit = EFFICIENCY_UNITS.get(algorithm)
    if unit is None:
        return None, None
    if power_w is None or hashrate is None or not (power_w > 0 and hashrate > 0):
        return None, unit[0]
    if not (math.isfinite(power_w) and math.isfinite(hashrate)):
        return None, unit[0]
    return power_w / (hashrate / unit[1]), unit[0]


def decimal_of(x: float) -> Decimal:
    """A float as the decimal it was written as (its shortest repr), not its binary expansion."""
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    return Decimal(repr(float(x)))


def energy_kwh(watt_minutes: float) -> Decimal:
    """kWh of a rig whose per-minute mean power (W) summed over the minutes it reported is `watt_minutes`
    (to _PREC digits: W·min / 60,000 need not terminate, 60,000 having the factor 3)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return decimal_of(watt_minutes) / _W_MIN_PER_KWH


def fiat(amount: Decimal) -> Decimal:
    """A fiat amount rounded to FIAT_PLACES (half-even)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return amount.quantize(_FIAT_STEP, rounding=ROUND_HALF_EVEN)


def power_cost(watt_minutes: float, price_kwh: Decimal) -> Decimal:
    """kWh × price per kWh, in the electricity currency, from the W·min: the product is taken before the one
    division by 60,000, so the result is the exact rational rounded once (a kWh already cut to _PREC digits
    could land on the wrong side of a half-cent-millionth)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return fiat(decimal_of(watt_minutes) * price_kwh / _W_MIN_PER_KWH)


def pps_estimate(work: float, reward: int, fee_bps: int) -> int:
    """The expected PPS value of accepted work, base units: floor((reward − fee) · work), where `work` is
    Σ min(d/D, 1) over the shares and fee = floor(reward · fee_bps / 10^4) (`kernels.rewards.fee_of`)."""
    if work <= 0 or not math.isfinite(work):
        return 0
    miners = reward - reward * fee_bps // 10_000
    return math.floor(Fraction(miners) * Fraction(work))


def apportion(total: int, part: float, whole: float) -> int:
    """The part of `total` base units a rig earned: floor(total · part / whole) exactly (toward −∞ for a
    negative net, e.g. reversals); 0 when `whole` is not positive."""
    if whole <= 0 or part <= 0:
        return 0
    return math.floor(Fraction(total) * Fraction(part) / Fraction(whole))


def coin_value(units: int, decimals: int, price: Decimal) -> Decimal:
    """`units` base units of a coin with `decimals` at `price` per coin, in fiat (rounded)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        return fiat(Decimal(units).scaleb(-decimals) * price)


def profit(revenue: Decimal, cost: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PREC
        return fiat(revenue - cost)
