"""The SFR batches' periods and rules (kernels.sfr_batch): run keys per day and closed month, closed mining
periods only, exact work metrics, and the target-price adjustment's bound (property tests against Fraction)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.sfr_batch import (
    adjusted_target,
    closed_periods,
    daily_run,
    monthly_run,
    previous_month,
    work_metrics,
)

UTC = dt.UTC


def test_run_keys() -> None:
    at = dt.datetime(2025, 8, 26, 23, 59, 59, tzinfo=UTC)
    assert daily_run(at) == ("daily:2025-08-26", "daily_20250826")
    assert monthly_run(at) == ("monthly:2025-07", "monthly_202507")  # the closed month before
    assert monthly_run(dt.datetime(2025, 1, 1, tzinfo=UTC)) == ("monthly:2024-12", "monthly_202412")
    assert previous_month(dt.datetime(2024, 3, 10, tzinfo=UTC)) == (dt.datetime(2024, 2, 1, tzinfo=UTC),
                                                                     dt.datetime(2024, 3, 1, tzinfo=UTC))


def test_only_closed_periods_within_the_lookback() -> None:
    now = dt.datetime(2025, 8, 26, 0, 10, tzinfo=UTC)
    day = 86400
    # 10 min after midnight with a 15 min grace: the 25th is not closed yet
    # (the 23rd started 3 days 10 min ago: outside a 3-day lookback)
    assert closed_periods(now, day, 900, 3 * day) == [
        (dt.datetime(2025, 8, 24, tzinfo=UTC), dt.datetime(2025, 8, 25, tzinfo=UTC))]
    later = closed_periods(now + dt.timedelta(minutes=5), day, 900, 3 * day)
    assert later == [(dt.datetime(2025, 8, 24, tzinfo=UTC), dt.datetime(2025, 8, 25, tzinfo=UTC)),
                     (dt.datetime(2025, 8, 25, tzinfo=UTC), dt.datetime(2025, 8, 26, tzinfo=UTC))]
    hours = closed_periods(dt.datetime(2025, 8, 26, 5, 0, tzinfo=UTC), 3600, 0, 2 * 3600)
    assert [p[0].hour for p in hours] == [3, 4]
    with pytest.raises(ValueError):
        closed_periods(now, 0, 0, day)


@given(st.integers(0, 10**6), st.sampled_from([3600, 86400]), st.integers(0, 3599), st.integers(1, 30))
def test_closed_periods_are_aligned_closed_and_contiguous(offset_s: int, period: int, grace: int, n: int) -> None:
    now = dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=offset_s)
    periods = closed_periods(now, period, grace, n * period)
    for start, end in periods:
        assert end - start == dt.timedelta(seconds=period) and start.timestamp() % period == 0
        assert end + dt.timedelta(seconds=grace) <= now and start >= now - dt.timedelta(seconds=n * period)
    assert all(a[1] == b[0] for a, b in zip(periods, periods[1:], strict=False))
    assert n - 2 <= len(periods) <= n


def test_work_metrics_are_exact_and_sum_to_the_pool() -> None:
    mine, pool = work_metrics({"a": 0.1, "b": 0.2, "c": 0, "d": 3})
    assert mine == {"a": "0.1", "b": "0.2", "d": "3"} and pool == "3.3"  # 0.1 + 0.2 as printed, not 0.30000000000000004
    assert sum(Fraction(v) for v in mine.values()) == Fraction(pool)
    with pytest.raises(ValueError):
        work_metrics({"a": -1.0})


def test_no_adjustment_by_default_or_without_prices() -> None:
    assert adjusted_target(Decimal("150"), Decimal("100"), 0) == Decimal("150")
    assert adjusted_target(Decimal("150"), None, 100) == Decimal("150")
    assert adjusted_target(Decimal("150"), Decimal("147.25"), 100) == Decimal("148.5")
    assert adjusted_target(Decimal("150"), Decimal("150.3"), 100) == Decimal("150.3")  # never past the mean


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)


@given(prices, prices, st.integers(0, 10_000))
def test_the_adjustment_is_bounded_and_moves_toward_the_mean(target: Decimal, mean: Decimal, bps: int) -> None:
    new = adjusted_target(target, mean, bps)
    assert new == new.quantize(Decimal("0.0001"))
    assert abs(Fraction(new) - Fraction(target)) <= Fraction(target) * bps / 10_000  # the bound, exactly
    assert min(target, mean) <= new <= max(target, mean)  # toward the mean, never past it
