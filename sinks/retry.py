"""Retrying a ClickHouse write until it is durable: dropping rows is never the answer to an error."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def until_durable(table: str, write: Callable[[], object], sleep: Callable[[float], None],
                  max_backoff_s: float = 10.0) -> int:
    """Call `write` until it succeeds, logging each failure and backing off (0.1 s doubling to
    `max_backoff_s`). Backpressure reaches the consumer, whose messages stay unacked. Returns the failures."""
    backoff = 0.1
    failures = 0
    while True:
        try:
            write()
            return failures
        except Exception as exc:  # driver and server errors alike: log, back off, retry
            failures += 1
            log.error("insert into %s failed (%s); retrying in %.1fs", table, str(exc)[:200], backoff)
            sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)
