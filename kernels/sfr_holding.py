"""The holding details of one user's SFR (seed 003 §4 `details`) from their movements in the ledger. Pure, exact.

Rules (the same in the API, the daily recompute and the docs):
- SFR is held in FIFO lots: every inflow (`IN`: a distribution, any other positive row) opens a lot at its time
  with the market price of that time; outflows (`PAYMENT`: a payment made with SFR; `OUT`: anything else that
  leaves, e.g. a reversal) consume the oldest lots first. Staked SFR is still held: staking does not consume
  held lots, it opens a staking lot (`STAKE`); `UNSTAKE` consumes the oldest staking lots.
- holdingDays = the amount-weighted average age of the held lots at `now`, in whole days (floored):
  ⌊Σ units·(now − t) / (Σ units · 1 day)⌋. A weighted age rewards keeping SFR and cannot be gamed by keeping
  one unit for a year. No SFR held: 0.
- stakingMonths = the same weighted age of the staking lots in whole 30-day months; stakingUnits = Σ staked.
- paymentUsageCount = the number of payments made with SFR (all time up to `now`).
- averageHoldingPrice = the amount-weighted average of the held lots' prices, floored to 4 places (lots whose
  time has no price are left out; none priced: 0).
Movements after `now` are ignored; at one instant inflows (and unstakes) come before outflows.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kernels.sfr import floor4

DAY_MS = 86_400_000
MONTH_MS = 30 * DAY_MS


class Flow(enum.StrEnum):
    IN = "in"
    OUT = "out"
    PAYMENT = "payment"
    STAKE = "stake"
    UNSTAKE = "unstake"


_RANK = {Flow.IN: 0, Flow.UNSTAKE: 1, Flow.STAKE: 2, Flow.PAYMENT: 3, Flow.OUT: 3}


@dataclass(frozen=True)
class Movement:
    at_ms: int
    flow: Flow
    units: int  # > 0, units of 10^-8 SFR
    price_jpy: Decimal | None = None  # the market price at `at_ms` (used for IN)


@dataclass(frozen=True)
class Holding:
    held_units: int
    holding_days: int
    staked_units: int
    staking_months: int
    payment_count: int
    average_price_jpy: Decimal


@dataclass
class _Lot:
    at_ms: int
    units: int
    price: Decimal | None


def _consume(lots: deque[_Lot], units: int) -> None:
    """Take `units` from the oldest lots (all of them when there are fewer)."""
    while units > 0 and lots:
        first = lots[0]
        taken = min(units, first.units)
        first.units -= taken
        units -= taken
        if first.units == 0:
            lots.popleft()


def _weighted_age(lots: Iterable[_Lot], now_ms: int, period_ms: int) -> int:
    held = [(lot.units, now_ms - lot.at_ms) for lot in lots]
    total = sum(u for u, _ in held)
    return sum(u * age for u, age in held) // (total * period_ms) if total else 0


def _average_price(lots: Iterable[_Lot]) -> Decimal:
    priced = [(lot.units, lot.price) for lot in lots if lot.price is not None]
    total = sum(u for u, _ in priced)
    if not total:
        return Decimal(0)
    return floor4(sum((u * Fraction(p) for u, p in priced), Fraction(0)) / total)


def holding(movements: Iterable[Movement], now_ms: int) -> Holding:
    """The holding details at `now_ms` (rules in the module docstring)."""
    held: deque[_Lot] = deque()
    staked: deque[_Lot] = deque()
    payments = 0
    for m in sorted((m for m in movements if m.at_ms <= now_ms), key=lambda m: (m.at_ms, _RANK[m.flow])):
        if m.units <= 0:
            raise ValueError(f"a movement moves a positive number of units, not {m.units}")
        if m.flow is Flow.IN:
            held.append(_Lot(m.at_ms, m.units, m.price_jpy))
        elif m.flow is Flow.STAKE:
            staked.append(_Lot(m.at_ms, m.units, None))
        elif m.flow is Flow.UNSTAKE:
            _consume(staked, m.units)
        else:
            payments += m.flow is Flow.PAYMENT
            _consume(held, m.units)
    return Holding(sum(lot.units for lot in held), _weighted_age(held, now_ms, DAY_MS),
                   sum(lot.units for lot in staked), _weighted_age(staked, now_ms, MONTH_MS), payments,
                   _average_price(held))
