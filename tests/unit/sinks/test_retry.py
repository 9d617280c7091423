"""A failing write is retried with growing backoff until it succeeds; nothing is dropped."""

from __future__ import annotations

import pytest

from sinks.retry import until_durable


def test_retries_until_durable_with_capped_backoff(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []
    sleeps: list[float] = []

    def write() -> None:
        attempts.append(1)
        if len(attempts) < 6:
            raise ConnectionError("ClickHouse went away")

    failures = until_durable("shares", write, sleeps.append, max_backoff_s=1.0)
    assert failures == 5 and len(attempts) == 6
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert caplog.text.count("insert into shares failed (ClickHouse went away)") == 5
