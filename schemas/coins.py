"""The coins the pool mines, their money rules, and exact base-unit <-> decimal-string conversion.

Every amount in poolstream is an `int` in the coin's base unit (satoshi-like), end to end; decimal strings
exist only for display and for operators' input (`to_decimal` / `parse_decimal`, exact both ways, never a
float). `DEFAULT_COINS` is the built-in table; `CoinSettings` (built once by `poolstream.settings`) holds
the operator's overrides and hands out the configured `Coin` per code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from schemas.algorithms import Algorithm
from schemas.config import SettingsError
from schemas.identity import is_valid_address

#: Optional fee recipients of a coin: (address, integer weight) pairs; the block fee is split over them.
FeeRecipients = tuple[tuple[str, int], ...]

#: Reward schemes (DOMAIN.md). pplns / prop / solo split a found block (`kernels.rewards.split_block`);
#: pps / fpps pay every share its expected value (`kernels.rewards.pps_value`).
SCHEMES: tuple[str, ...] = ("pplns", "pps", "fpps", "prop", "solo")
MAX_FEE_BPS = 10_000  # 100 %


@dataclass(frozen=True)
class Coin:
    code: str  # "BTC", "LTC", "DOGE"
    algorithm: Algorithm
    decimals: int  # base-unit decimals
    maturity: int  # confirmations before a block's credits mature
    payout_minimum: int  # base units
    fee_bps: int  # pool fee in basis points (100 = 1 %)
    scheme: str  # one of SCHEMES
    fee_recipients: FeeRecipients = ()  # empty: the whole fee is the pool's (one `fee:<hash>` row)

    def __post_init__(self) -> None:
        check_coin(self)

    def display(self, units: int) -> str:
        """`units` of this coin as an exact decimal string."""
        return to_decimal(units, self.decimals)


def check_coin(c: Coin) -> None:
    """Raise SettingsError naming the field of `c` that is out of range."""
    where = f"coin {c.code}"
    if not re.fullmatch(r"[A-Z0-9]{2,10}", c.code):
        raise SettingsError(f"{where}: code must be 2-10 upper-case letters or digits")
    if not 0 <= c.decimals <= 18:
        raise SettingsError(f"{where}: decimals must be in 0..18, got {c.decimals}")
    if c.maturity < 1:
        raise SettingsError(f"{where}: maturity must be >= 1 confirmation, got {c.maturity}")
    if c.payout_minimum < 0:
        raise SettingsError(f"{where}: payout minimum must be >= 0, got {c.payout_minimum}")
    if not 0 <= c.fee_bps <= MAX_FEE_BPS:
        raise SettingsError(f"{where}: fee_bps must be in 0..{MAX_FEE_BPS}, got {c.fee_bps}")
    if c.scheme not in SCHEMES:
        raise SettingsError(f"{where}: scheme must be one of {', '.join(SCHEMES)}, got {c.scheme!r}")
    try:
        check_fee_recipients(c.fee_recipients, c.algorithm)
    except ValueError as e:
        raise SettingsError(f"{where}: fee recipients {e}") from None


def check_fee_recipients(recipients: FeeRecipients, algorithm: Algorithm) -> None:
    """ValueError unless every address is a pool address of `algorithm`, unique, with a weight >= 1."""
    seen: set[str] = set()
    for address, weight in recipients:
        if not is_valid_address(address, algorithm):
            raise ValueError(f"{address[:40]!r} is not a {algorithm.name.lower()} coin address")
        if address in seen:
            raise ValueError(f"{address[:40]!r} appears twice")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ValueError(f"weight of {address[:40]!r} must be an integer >= 1")
        seen.add(address)


#: Built-in coin table: the defaults of `CoinSettings` are read from here (one place).
DEFAULT_COINS: dict[str, Coin] = {
    "BTC": Coin("BTC", Algorithm.SHA256D, 8, 101, 100_000, 100, "pplns"),  # minimum 0.001 BTC
    "LTC": Coin("LTC", Algorithm.SCRYPT, 8, 101, 1_000_000, 100, "pplns"),  # minimum 0.01 LTC
    "DOGE": Coin("DOGE", Algorithm.SCRYPT, 8, 241, 1_000_000_000, 100, "pplns"),  # minimum 10 DOGE
}


def _unknown(code: str) -> ValueError:
    return ValueError(f"unknown coin {code!r}; known: {', '.join(DEFAULT_COINS)}")


def coin(code: str) -> Coin:
    """The built-in (default) coin `code` (case-insensitive), or ValueError naming the known codes.
    A process with settings uses `Settings.coins.coin(code)`, which applies the operator's overrides."""
    try:
        return DEFAULT_COINS[code.strip().upper()]
    except KeyError:
        raise _unknown(code) from None


# ---- exact decimal strings --------------------------------------------------------------------------

_DECIMAL = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def to_decimal(units: int, decimals: int) -> str:
    """Exact decimal string of `units` base units: to_decimal(123456789, 8) == "1.23456789" (always
    `decimals` digits after the point; none when decimals == 0)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"amounts are integers in base units, got {type(units).__name__}")
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}" if decimals else f"{sign}{whole}"


def parse_decimal(text: str, decimals: int) -> int:
    """Base units of a decimal string ("1.5", "-0.00000001", "42"); the exact inverse of `to_decimal`.
    ValueError on anything else (exponents, more than `decimals` digits after the point, empty)."""
    m = _DECIMAL.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a decimal amount: {text[:40]!r}")
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    if len(frac) > decimals:
        raise ValueError(f"at most {decimals} decimals allowed: {text[:40]!r}")
    scale: int = 10**decimals
    units = int(whole) * scale + int(frac.ljust(decimals, "0") or "0")
    return -units if sign else units


# ---- parsers for environment variables (each raises ValueError with a short reason) -----------------

def units_parser(code: str) -> Callable[[object], int]:
    """Parse a non-negative decimal amount of coin `code` into base units (e.g. COIN_BTC_PAYOUT_MINIMUM)."""
    decimals = coin(code).decimals

    def parse(raw: object) -> int:
        is_int = isinstance(raw, int) and not isinstance(raw, bool)
        value = int(str(raw)) if is_int else parse_decimal(str(raw), decimals)
        if value < 0:
            raise ValueError("must not be negative")
        return value

    return parse


def fee_recipients_parser(code: str) -> Callable[[object], FeeRecipients]:
    """Parse `addr:weight,addr:weight` (COIN_<C>_FEE_RECIPIENTS; empty: none) for coin `code`."""
    algorithm = coin(code).algorithm

    def parse(raw: object) -> FeeRecipients:
        pairs: list[tuple[str, int]] = []
        for item in filter(None, (part.strip() for part in str(raw).split(","))):
            address, sep, weight = item.rpartition(":")
            if not sep or not weight.strip().isdigit():
                raise ValueError(f"expected address:weight, got {item[:60]!r}")
            pairs.append((address.strip(), int(weight)))
        check_fee_recipients(tuple(pairs), algorithm)
        return tuple(pairs)

    return parse


def parse_scheme(raw: object) -> str:
    value = str(raw).strip().lower()
    if value not in SCHEMES:
        raise ValueError(f"must be one of {', '.join(SCHEMES)}")
    return value


def parse_fee_bps(raw: object) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("must be an integer (basis points, 100 = 1 %)") from None
    if not 0 <= value <= MAX_FEE_BPS:
        raise ValueError(f"must be in 0..{MAX_FEE_BPS} basis points")
    return value


_B, _L, _D = DEFAULT_COINS["BTC"], DEFAULT_COINS["LTC"], DEFAULT_COINS["DOGE"]


@dataclass(frozen=True)
class CoinSettings:
    """The coin table as configured (COIN_<CODE>_* variables) and the PPLNS window factor X."""

    window_factor: float = 2.0  # PPLNS_WINDOW_FACTOR: window = X network difficulties of score
    fpps_fee_bps: int = 0  # FPPS_EXPECTED_FEES_BPS: expected block fees, basis points of the subsidy
    btc_fee_bps: int = _B.fee_bps
    btc_scheme: str = _B.scheme
    btc_payout_minimum: int = _B.payout_minimum
    btc_maturity: int = _B.maturity
    btc_fee_recipients: FeeRecipients = ()
    ltc_fee_bps: int = _L.fee_bps
    ltc_scheme: str = _L.scheme
    ltc_payout_minimum: int = _L.payout_minimum
    ltc_maturity: int = _L.maturity
    ltc_fee_recipients: FeeRecipients = ()
    doge_fee_bps: int = _D.fee_bps
    doge_scheme: str = _D.scheme
    doge_payout_minimum: int = _D.payout_minimum
    doge_maturity: int = _D.maturity
    doge_fee_recipients: FeeRecipients = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_factor) and self.window_factor > 0):
            raise SettingsError(f"window_factor must be a positive number, got {self.window_factor!r}")
        for code in DEFAULT_COINS:
            self.coin(code)  # builds and checks every configured coin

    def coin(self, code: str) -> Coin:
        """The configured coin `code` (case-insensitive), or ValueError naming the known codes."""
        base = coin(code)
        p = base.code.lower()
        return Coin(base.code, base.algorithm, base.decimals, getattr(self, f"{p}_maturity"),
                    getattr(self, f"{p}_payout_minimum"), getattr(self, f"{p}_fee_bps"), getattr(self, f"{p}_scheme"),
                    getattr(self, f"{p}_fee_recipients"))

    @property
    def coins(self) -> tuple[Coin, ...]:
        """Every configured coin, in table order."""
        return tuple(self.coin(code) for code in DEFAULT_COINS)
