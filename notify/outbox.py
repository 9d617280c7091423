"""The outbox's rows and retry rule: a delivery is retried with exponential backoff (BASE · 2^(n−1) seconds
after the n-th failed attempt, at most CAP) until it succeeds (2xx) or MAX_ATTEMPTS attempts failed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Backoff:
    base_s: float = 5.0
    cap_s: float = 600.0
    max_attempts: int = 8

    def delay_s(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1, 2, ...)."""
        return min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Delivery:
    """A row of `alert_deliveries` (migration 0016)."""

    delivery_id: str
    event_key: str
    event: str
    channel: str  # webhook | push
    target: str
    body: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int
    last_error: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def after_attempt(self, status: int, error: str, now: dt.datetime, backoff: Backoff) -> Delivery:
        """The next version: delivered on 2xx, else pending until the next try or failed after the last."""
        attempts = self.attempts + 1
        version = max(now, self.updated_at + dt.timedelta(milliseconds=1))
        if 200 <= status < 300:
            state, next_at = DELIVERED, now
        elif attempts >= backoff.max_attempts:
            state, next_at = FAILED, now
        else:
            state, next_at = PENDING, now + dt.timedelta(seconds=backoff.delay_s(attempts))
        return dataclasses.replace(self, state=state, attempts=attempts, next_attempt_at=next_at, last_status=status,
                                   last_error=error[:500], updated_at=version)


DELIVERY_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Delivery))


def delivery_id(event_key: str, target: str) -> str:
    return hashlib.sha256(f"{event_key}\x1f{target}".encode()).hexdigest()[:24]


def new_delivery(event_key: str, event: str, channel: str, target: str, body: str, now: dt.datetime) -> Delivery:
    return Delivery(delivery_id(event_key, target), event_key, event, channel, target, body, PENDING, 0, now, 0, "",
                    now, now)


def delivery_from_row(row: Sequence[Any]) -> Delivery:
    values = list(row)
    for i in (8, 11, 12):
        at: dt.datetime = values[i]
        values[i] = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    values[7], values[9] = int(values[7]), int(values[9])
    return Delivery(*values)
