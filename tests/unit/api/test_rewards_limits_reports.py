"""Pure parts of the SFR distribution limits and reports: which limits a plan breaches (category, period, the
inclusive bounds, inactive limits), the report windows and the percentages of the system statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.errors import InvalidRequest
from api.rewards.limits import Limit, Planned, breaches
from api.rewards.reports import percentage, window

AUG = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
END = dt.datetime(2025, 8, 31, 23, 59, 59, tzinfo=dt.UTC)


def limit(limit_id: int, category: str, max_units: int, *, active: bool = True) -> Limit:
    return Limit(limit_id, "MONTHLY", category, max_units, AUG, END, active, "admin", AUG, AUG)


def test_breaches_by_category_period_and_state() -> None:
    dev, every, off = limit(1, "development", 100), limit(2, "", 150), limit(3, "", 1, active=False)
    inside = AUG + dt.timedelta(days=3)
    plan = [Planned("development", 60, inside), Planned("education", 60, inside)]
    assert breaches([dev, every, off], {1: 40}, plan) == []  # 40 + 60 = 100 fits exactly; 120 <= 150
    assert breaches([dev, every, off], {1: 41}, plan) == [(dev, 60)]
    assert breaches([dev, every], {2: 31}, plan) == [(every, 120)]
    later = [Planned("development", 10**9, END + dt.timedelta(seconds=1))]
    assert breaches([dev, every], {}, later) == []  # outside the period
    assert breaches([dev], {}, [Planned("development", 101, END)]) == [(dev, 101)]  # the end is inclusive


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=8), st.integers(0, 10**13))
def test_a_plan_passes_exactly_when_it_fits(amounts: list[int], cap: int) -> None:
    plan = [Planned("ux", a, AUG) for a in amounts]
    found = breaches([limit(7, "ux", cap)], {7: 0}, plan)
    assert (found == []) == (sum(amounts) <= cap or sum(amounts) == 0)


def test_report_windows() -> None:
    now = dt.datetime(2025, 8, 26, 10, 0, tzinfo=dt.UTC)
    assert window("monthly", None, None, now) == (AUG, dt.datetime(2025, 8, 31, 23, 59, 59, 999000, tzinfo=dt.UTC))
    assert window("daily", None, None, now)[0] == dt.datetime(2025, 8, 26, tzinfo=dt.UTC)
    given_from = dt.datetime(2025, 7, 3, tzinfo=dt.UTC)
    assert window("weekly", given_from, None, now) == (given_from, dt.datetime(2025, 7, 6, 23, 59, 59, 999000,
                                                                                 tzinfo=dt.UTC))
    assert window("monthly", AUG, END, now) == (AUG, END)
    with pytest.raises(InvalidRequest):
        window("hourly", None, None, now)
    with pytest.raises(InvalidRequest):
        window("monthly", END, AUG, now)


def test_percentages_are_rounded_half_up_to_one_decimal() -> None:
    assert percentage(4000, 10000) == 40.0
    assert percentage(1, 3) == 33.3 and percentage(2, 3) == 66.7
    assert percentage(1, 8) == 12.5 and percentage(1, 16) == 6.3  # 6.25 -> 6.3 (half up)
    assert percentage(5, 0) == 0.0


def test_windows_far_out_are_refused_not_overflowed() -> None:
    now = dt.datetime(2025, 8, 26, tzinfo=dt.UTC)
    for at in (dt.datetime(9999, 12, 15, tzinfo=dt.UTC), dt.datetime(1, 1, 1, tzinfo=dt.UTC)):
        with pytest.raises(InvalidRequest):
            window("weekly", None, at, now)
