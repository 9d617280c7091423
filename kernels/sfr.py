"""SFR reward math (issue 11, seed 003): reward = B × C × M × H, exact, floored to 10^-8 SFR; the contribution
score C per activity; the market factor M; the holding factor H. Pure functions, no I/O.

Numbers are `decimal.Decimal`; factors and scores have at most 4 decimal places (`schemas.sfr.FACTOR_PLACES`).
Rounding always goes down (towards zero), so nobody is paid more than earned:
- `reward_units`: the product of four 4-place factors is an exact integer of 10^-16 SFR; it is floored to
  units of 10^-8 SFR. 1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR exactly (756000000 units).
- `contribution_score`: the sum of the capped terms below, floored to 4 places, capped at `SCORE_CAP`.
  A metric missing from the record counts 0, except that the activity itself counts once (a `commit` without
  `commitsCount` is one commit). Metrics are non-negative numbers (ValueError otherwise).

  | activity | terms (each capped) | cap |
  |---|---|---|
  | commit, merge_pr, close_issue | 0.2 × commitsCount (≤ 2) + 0.5 × mergedPrsCount (≤ 3) + 0.3 × closedIssuesCount (≤ 1.5) + 0.5 per full 100 lines of codeAdded + codeDeleted (≤ 2) | 10 |
  | provide_liquidity | liquidityAmount (SFR) × durationDays / 30000 (1.0 for 1000 SFR over 30 days) | 10 |
  | submit_proposal, vote | 1.0 × proposalsCount + 0.5 × proposalsAccepted + 0.1 × votesCount | 5 |
  | create_course | 1.0 × coursesCount + 0.01 × participantsCount (≤ 3) | 10 |
  | sfr_payment | 0.05 × paymentsCount (≤ 2.5) + paymentAmount (SFR) / 1000 (≤ 2.5) | 5 |
  | ux_improvement | 0.2 × feedbackCount (≤ 2) + 1.0 × improvementsCount (≤ 3) | 5 |
  | mining_work | MINING_SCALE (10) × minerDifficulty / poolDifficulty (the miner's share of the pool's Σ difficulty in the period) | 10 |

  The seed's example metrics (5 commits, 2 merged PRs, 150 + 30 lines) score 1.0 + 1.0 + 0.5 = 2.5.
- `market_factor`: M = clamp(round-half-up to 0.1 of 1 + 6 × (target − current) / target, 0.5, 2.0): a price
  below target raises rewards, above lowers them; quantised to 0.1 so the published factor moves only on a
  ~1.7 % price move. The seed's 145.50 JPY against a 150.00 target: 1 + 6 × 0.03 = 1.18 -> 1.2.
- `holding_breakdown`: H = baseHolding + stakingBonus + paymentUsageBonus + priceSupportBonus, tiers below;
  the seed's details (365 days, 6 months staking 1000 SFR, 25 payments, 140.00 / 145.50) give
  1.2 + 0.3 + 0.1 + 0.2 = 1.8. No holding at all gives `DEFAULT_HOLDING_FACTOR` 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

from schemas.sfr import FACTOR_PLACES, FACTOR_QUANTUM, SFR_DECIMALS, SFR_UNIT, ActivityType

_FACTOR_SCALE = 10**FACTOR_PLACES
SCORE_CAP = Decimal(10)
MINING_SCALE = Decimal(10)
MARKET_ELASTICITY = Decimal(6)
MARKET_MIN, MARKET_MAX = Decimal("0.5"), Decimal("2.0")
DEFAULT_HOLDING_FACTOR = Decimal("1.0")
#: baseHolding by holding days: (at least days, factor), highest first
BASE_HOLDING_TIERS = ((365, Decimal("1.2")), (180, Decimal("1.15")), (90, Decimal("1.1")), (30, Decimal("1.05")),
                      (0, Decimal("1.0")))
STAKING_PER_MONTH, STAKING_CAP = Decimal("0.05"), Decimal("0.3")
STAKING_MIN_UNITS = 100 * SFR_UNIT  # at least 100 SFR staked for a staking bonus
#: paymentUsageBonus by payments made with SFR: (at least count, bonus)
PAYMENT_TIERS = ((50, Decimal("0.15")), (10, Decimal("0.1")), (1, Decimal("0.05")), (0, Decimal("0")))
#: priceSupportBonus by averageHoldingPrice / currentPrice: (at least ratio, bonus); holding at or above the
#: current price (bought dearer and kept) supports the price most
PRICE_SUPPORT_TIERS = ((Fraction(1), Decimal("0.3")), (Fraction(9, 10), Decimal("0.2")),
                       (Fraction(8, 10), Decimal("0.1")), (Fraction(0), Decimal("0")))


def factor_units(value: Decimal) -> int:
    """A factor as an integer of 10^-4; ValueError when it has more than 4 places or is negative."""
    scaled = value.scaleb(FACTOR_PLACES)
    if not scaled.is_finite() or scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError(f"a factor is a non-negative decimal with at most {FACTOR_PLACES} places: {value}")
    return int(scaled)


def reward_units(b: Decimal, c: Decimal, m: Decimal, h: Decimal) -> int:
    """B × C × M × H in units of 10^-8 SFR, floored (exact integer arithmetic)."""
    product = factor_units(b) * factor_units(c) * factor_units(m) * factor_units(h)  # units of 10^-16 SFR
    units: int = product // (_FACTOR_SCALE**4 // SFR_UNIT)
    return units


def floor4(value: Fraction | Decimal) -> Decimal:
    """Floored to 4 decimal places (exact)."""
    f = Fraction(value)
    return Decimal(math.floor(f * _FACTOR_SCALE)).scaleb(-FACTOR_PLACES)


def show(value: Decimal, min_places: int = 1) -> str:
    """A decimal as the seed writes it: trailing zeros dropped, at least `min_places` places (1.4, 1.0, 7.56)."""
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(min_places, '0')}" if (frac or min_places) else whole


def show_sfr(units: int) -> str:
    """SFR units as the seed writes an amount: at least 2 places (7.56, 22.68, 100.00)."""
    return show(Decimal(units).scaleb(-SFR_DECIMALS), 2)


def formula(b: Decimal, c: Decimal, m: Decimal, h: Decimal, units: int) -> str:
    """`"1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"`."""
    return f"{show(b)} × {show(c)} × {show(m)} × {show(h)} = {show_sfr(units)} SFR"


# ---- C: contribution score ----------------------------------------------------------------------------------

def metric(metrics: Mapping[str, object], name: str, default: int = 0) -> Fraction:
    """One metric as an exact non-negative number (JSON floats by their shortest repr: 1000.0 is 1000)."""
    value = metrics.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"metric `{name}` must be a number")
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise ValueError(f"metric `{name}` must be a number") from None
    if not exact.is_finite() or exact < 0 or exact > Decimal(10) ** 15:
        raise ValueError(f"metric `{name}` must be a number from 0 to 10^15")
    return Fraction(exact)


def _capped(value: Fraction, cap: str) -> Fraction:
    return min(value, Fraction(Decimal(cap)))


def _development(m: Mapping[str, object], activity: ActivityType) -> Fraction:
    own = {ActivityType.COMMIT: "commitsCount", ActivityType.MERGE_PR: "mergedPrsCount",
           ActivityType.CLOSE_ISSUE: "closedIssuesCount"}[activity]

    def count(name: str) -> Fraction:
        return metric(m, name, 1 if name == own else 0)

    lines = metric(m, "codeAdded") + metric(m, "codeDeleted")
    return (_capped(Fraction(1, 5) * count("commitsCount"), "2") + _capped(Fraction(1, 2) * count("mergedPrsCount"), "3")
            + _capped(Fraction(3, 10) * count("closedIssuesCount"), "1.5")
            + _capped(Fraction(1, 2) * math.floor(lines / 100), "2"))


def _governance(m: Mapping[str, object], activity: ActivityType) -> Fraction:
    proposals = metric(m, "proposalsCount", 1 if activity is ActivityType.SUBMIT_PROPOSAL else 0)
    votes = metric(m, "votesCount", 1 if activity is ActivityType.VOTE else 0)
    return _capped(proposals + Fraction(1, 2) * metric(m, "proposalsAccepted") + Fraction(1, 10) * votes, "5")


def _mining(m: Mapping[str, object]) -> Fraction:
    miner, pool = metric(m, "minerDifficulty"), metric(m, "poolDifficulty")
    if pool <= 0 or miner > pool:
        raise ValueError("mining metrics need 0 <= minerDifficulty <= poolDifficulty and poolDifficulty > 0")
    return Fraction(MINING_SCALE) * miner / pool


def _raw_score(activity: ActivityType, m: Mapping[str, object]) -> Fraction:
    if activity in (ActivityType.COMMIT, ActivityType.MERGE_PR, ActivityType.CLOSE_ISSUE):
        return _development(m, activity)
    if activity is ActivityType.PROVIDE_LIQUIDITY:
        return metric(m, "liquidityAmount") * metric(m, "durationDays") / 30000
    if activity in (ActivityType.SUBMIT_PROPOSAL, ActivityType.VOTE):
        return _governance(m, activity)
    if activity is ActivityType.CREATE_COURSE:
        return metric(m, "coursesCount", 1) + _capped(metric(m, "participantsCount") / 100, "3")
    if activity is ActivityType.SFR_PAYMENT:
        return (_capped(Fraction(1, 20) * metric(m, "paymentsCount", 1), "2.5")
                + _capped(metric(m, "paymentAmount") / 1000, "2.5"))
    if activity is ActivityType.UX_IMPROVEMENT:
        return (_capped(Fraction(1, 5) * metric(m, "feedbackCount"), "2")
                + _capped(metric(m, "improvementsCount", 1), "3"))
    return _mining(m)


def contribution_score(activity: ActivityType, metrics: Mapping[str, object]) -> Decimal:
    """C of one record: the activity's rule (module docstring), capped at 10, floored to 4 places."""
    return floor4(min(_raw_score(activity, metrics), Fraction(SCORE_CAP)))


# ---- M: market factor ---------------------------------------------------------------------------------------

def market_factor(current_jpy: Decimal, target_jpy: Decimal) -> Decimal:
    """M = clamp(round-half-up(1 + 6 × (target − current) / target, 0.1), 0.5, 2.0), computed exactly."""
    if not (current_jpy > 0 and target_jpy > 0):
        raise ValueError("prices must be positive")
    raw = 1 + Fraction(MARKET_ELASTICITY) * (Fraction(target_jpy) - Fraction(current_jpy)) / Fraction(target_jpy)
    tenths = math.floor(raw * 10 + Fraction(1, 2))  # half-up
    low, high = int(MARKET_MIN * 10), int(MARKET_MAX * 10)
    return Decimal(min(high, max(low, tenths))).scaleb(-1)


# ---- H: holding factor --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldingBreakdown:
    """The seed's `breakdown` (four parts, their sum `holding_factor`) and the ratio shown in `details`."""

    base_holding: Decimal
    staking_bonus: Decimal
    payment_usage_bonus: Decimal
    price_support_bonus: Decimal
    price_support_ratio: Decimal  # averageHoldingPrice / currentPrice, rounded half-up to 2 places (display)

    @property
    def holding_factor(self) -> Decimal:
        return self.base_holding + self.staking_bonus + self.payment_usage_bonus + self.price_support_bonus


def holding_breakdown(holding_days: int, staking_months: int, staking_units: int, payment_usage_count: int,
                      average_holding_price_jpy: Decimal, current_price_jpy: Decimal) -> HoldingBreakdown:
    """H's four parts from the seed's details (tiers in the module constants)."""
    if min(holding_days, staking_months, staking_units, payment_usage_count) < 0 or average_holding_price_jpy < 0:
        raise ValueError("holding details must be non-negative")
    base = next(f for days, f in BASE_HOLDING_TIERS if holding_days >= days)
    staking = min(STAKING_CAP, STAKING_PER_MONTH * staking_months) if staking_units >= STAKING_MIN_UNITS \
        else Decimal("0")
    payment = next(b for count, b in PAYMENT_TIERS if payment_usage_count >= count)
    if current_price_jpy > 0:
        ratio = Fraction(average_holding_price_jpy) / Fraction(current_price_jpy)
        support = next(b for at_least, b in PRICE_SUPPORT_TIERS if ratio >= at_least)
        shown = (average_holding_price_jpy / current_price_jpy).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    else:
        support, shown = Decimal("0"), Decimal("0.00")
    return HoldingBreakdown(base, staking.quantize(FACTOR_QUANTUM, rounding=ROUND_FLOOR), payment, support, shown)
