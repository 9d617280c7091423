"""Fixed time windows ending now (DOMAIN.md: 10 min, 24 h) and the bucket table each one reads.

A window of W seconds ending at `now` reads the buckets from the one containing `now - W` up to `now`, so its
aligned start is `now - W` rounded down to the bucket size (minute or hour, UTC). Times cross the
ClickHouse boundary as integer milliseconds since the epoch, which no timezone setting can shift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def to_ms(at: dt.datetime) -> int:
    return (at - EPOCH) // _MS


def from_ms(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Window:
    seconds: int
    table: str  # the bucket table read (a constant of ours, never user input)
    bucket_seconds: int

    def start_ms(self, now_ms: int) -> int:
        return now_ms - self.seconds * 1000

    def aligned_start_ms(self, now_ms: int) -> int:
        step = self.bucket_seconds * 1000
        return self.start_ms(now_ms) // step * step

    def params(self, now_ms: int) -> dict[str, int]:
        """Query parameters for `WHERE {BUCKETS}`: the aligned start and now, in ms."""
        return {"from_ms": self.aligned_start_ms(now_ms), "now_ms": now_ms}


#: The bucket predicate for a window; use with `Window.params`.
BUCKETS = (
    "bucket >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') "
    "AND bucket <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')"
)

TEN_MINUTES = Window(seconds=600, table="shares_1m", bucket_seconds=60)
DAY = Window(seconds=86_400, table="shares_1h", bucket_seconds=3_600)
