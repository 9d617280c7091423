"""Holding details (kernels.sfr_holding) against a unit-by-unit reference: FIFO lots, the amount-weighted holding
age and staking months, payment counting, the average price of the held lots; the seed's example details; the
calendar periods of kernels.sfr_periods."""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.sfr import holding_breakdown
from kernels.sfr_holding import DAY_MS, MONTH_MS, Flow, Movement, holding
from kernels.sfr_periods import bounds
from schemas.sfr import SFR_UNIT

NOW = 400 * DAY_MS


def reference(movements: list[Movement], now_ms: int) -> tuple[int, int, int, int, int, Fraction | None]:
    """Every unit on its own, in a FIFO queue: (held, days, staked, months, payments, average price)."""
    held: deque[tuple[int, Decimal | None]] = deque()
    staked: deque[int] = deque()
    payments = 0
    rank = {Flow.IN: 0, Flow.UNSTAKE: 1, Flow.STAKE: 2, Flow.PAYMENT: 3, Flow.OUT: 3}
    for m in sorted((m for m in movements if m.at_ms <= now_ms), key=lambda m: (m.at_ms, rank[m.flow])):
        if m.flow is Flow.IN:
            held.extend([(m.at_ms, m.price_jpy)] * m.units)
        elif m.flow is Flow.STAKE:
            staked.extend([m.at_ms] * m.units)
        elif m.flow is Flow.UNSTAKE:
            for _ in range(min(m.units, len(staked))):
                staked.popleft()
        else:
            payments += m.flow is Flow.PAYMENT
            for _ in range(min(m.units, len(held))):
                held.popleft()
    days = math.floor(Fraction(sum(now_ms - t for t, _ in held), len(held) * DAY_MS)) if held else 0
    months = math.floor(Fraction(sum(now_ms - t for t in staked), len(staked) * MONTH_MS)) if staked else 0
    priced = [Fraction(p) for _, p in held if p is not None]
    return len(held), days, len(staked), months, payments, (sum(priced, Fraction(0)) / len(priced)) if priced else None


movement = st.builds(Movement, at_ms=st.integers(0, NOW + DAY_MS), flow=st.sampled_from(list(Flow)),
                     units=st.integers(1, 40),
                     price_jpy=st.one_of(st.none(), st.integers(1, 3_000_000).map(lambda n: Decimal(n).scaleb(-4))))


@given(st.lists(movement, max_size=25))
def test_matches_the_unit_by_unit_reference(movements: list[Movement]) -> None:
    got = holding(movements, NOW)
    held, days, staked, months, payments, price = reference(movements, NOW)
    assert (got.held_units, got.holding_days, got.staked_units, got.staking_months, got.payment_count) == (
        held, days, staked, months, payments)
    if price is None:
        assert got.average_price_jpy == 0
    else:  # floored to 4 places: never above the exact mean, less than 0.0001 below it
        assert 0 <= price - Fraction(got.average_price_jpy) < Fraction(1, 10_000)


def test_the_seeds_details_give_the_seeds_breakdown() -> None:
    """1000 SFR held 365 days at 140.00 JPY, 1000 of it staked 6 months ago (180 days), 25 payments of 1 SFR
    out of a later 25-SFR lot: the seed's 365 days, 6 months, 1000 staked, 25 payments, 140.00."""
    day = DAY_MS
    moves = [Movement(NOW - 365 * day, Flow.IN, 1000 * SFR_UNIT, Decimal("140.00")),
             Movement(NOW - 180 * day, Flow.STAKE, 1000 * SFR_UNIT)]
    moves += [Movement(NOW - 10 * day, Flow.IN, 25 * SFR_UNIT, Decimal("140.00"))]
    moves += [Movement(NOW - 9 * day + i, Flow.PAYMENT, SFR_UNIT) for i in range(25)]
    h = holding(moves, NOW)
    # the payments spend the oldest lot first (FIFO): 975 of the 365-day lot and all 25 of the new one remain
    assert (h.held_units, h.holding_days) == (1000 * SFR_UNIT, (975 * 365 + 25 * 10) // 1000)
    assert (h.staked_units, h.staking_months, h.payment_count, h.average_price_jpy) == (
        1000 * SFR_UNIT, 6, 25, Decimal("140.00"))
    exact = holding(moves[:2] + [Movement(NOW - 365 * day, Flow.IN, 25 * SFR_UNIT, Decimal("140"))]
                    + moves[3:], NOW)
    assert exact.holding_days == 365
    b = holding_breakdown(exact.holding_days, exact.staking_months, exact.staked_units, exact.payment_count,
                          exact.average_price_jpy, Decimal("145.50"))
    assert (b.base_holding, b.staking_bonus, b.payment_usage_bonus, b.price_support_bonus) == (
        Decimal("1.2"), Decimal("0.3"), Decimal("0.1"), Decimal("0.2"))
    assert b.holding_factor == Decimal("1.8") and b.price_support_ratio == Decimal("0.96")


def test_edges() -> None:
    assert holding([], NOW).holding_days == 0 and holding([], NOW).average_price_jpy == 0
    future = holding([Movement(NOW + 1, Flow.IN, 5)], NOW)
    assert future.held_units == 0
    # an inflow and an outflow at the same instant: the inflow first, so the outflow has something to take
    same = holding([Movement(NOW - DAY_MS, Flow.PAYMENT, 3), Movement(NOW - DAY_MS, Flow.IN, 5)], NOW)
    assert (same.held_units, same.payment_count) == (2, 1)
    with pytest.raises(ValueError, match="positive"):
        holding([Movement(0, Flow.IN, 0)], NOW)


@pytest.mark.parametrize(("kind", "start", "end"), [
    ("DAILY", "2025-08-26T00:00:00", "2025-08-26T23:59:59.999"),
    ("WEEKLY", "2025-08-25T00:00:00", "2025-08-31T23:59:59.999"),  # 2025-08-26 is a Tuesday
    ("MONTHLY", "2025-08-01T00:00:00", "2025-08-31T23:59:59.999"),
    ("YEARLY", "2025-01-01T00:00:00", "2025-12-31T23:59:59.999"),
    ("TOTAL", "2000-01-01T00:00:00", "2199-12-31T23:59:59.999"),
])
def test_periods(kind: str, start: str, end: str) -> None:
    at = dt.datetime(2025, 8, 26, 10, 15, tzinfo=dt.UTC)
    assert bounds(kind, at) == (dt.datetime.fromisoformat(start + "+00:00"), dt.datetime.fromisoformat(end + "+00:00"))
    assert bounds("monthly", dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC))[1].month == 12
    with pytest.raises(ValueError, match="unknown period"):
        bounds("HOURLY", at)
