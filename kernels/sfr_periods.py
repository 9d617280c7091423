"""Calendar periods of the SFR rewards (seed 003: limit types and report periods), UTC. Pure.

`bounds(kind, at)` -> (start, end) of the period of `kind` containing `at`, both inclusive: start at 00:00:00.000,
end one millisecond before the next period starts. DAILY: the UTC day; WEEKLY: the ISO week (Monday to Sunday);
MONTHLY: the calendar month; YEARLY: the calendar year; TOTAL: 2000-01-01 to the end of 2199.
"""

from __future__ import annotations

import datetime as dt

KINDS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY", "TOTAL")
MS = dt.timedelta(milliseconds=1)
FIRST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LAST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC) - MS


def bounds(kind: str, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The period of `kind` (one of KINDS, case-insensitive) containing `at`; ValueError for another kind."""
    kind = kind.upper()
    at = at.astimezone(dt.UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "DAILY":
        start, after = day, day + dt.timedelta(days=1)
    elif kind == "WEEKLY":
        start = day - dt.timedelta(days=day.weekday())
        after = start + dt.timedelta(days=7)
    elif kind == "MONTHLY":
        start = day.replace(day=1)
        after = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    elif kind == "YEARLY":
        start = day.replace(month=1, day=1)
        after = start.replace(year=start.year + 1)
    elif kind == "TOTAL":
        return FIRST, LAST
    else:
        raise ValueError(f"unknown period {kind!r}; one of {', '.join(KINDS)}")
    return start, after - MS
