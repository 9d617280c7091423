"""The clock: UTC time injected wherever logic depends on it, so tests can move it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware UTC datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def now_ms(self) -> int:
        return int(self._at.timestamp() * 1000)

    def advance(self, seconds: float) -> None:
        self._at += dt.timedelta(seconds=seconds)
