"""Fakes for API unit tests: no ClickHouse, no broker. The fake client fails loudly if a test reaches it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport, TopicLag
from schemas.clock import FixedClock

NOW = dt.datetime(2025, 3, 1, 12, 0, 20, tzinfo=dt.UTC)


class ExplodingClient:
    """Stands in for the ClickHouse client: any query raises, as a broken database would."""

    def query(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("secret-dsn-password boom")


class FakeProbe:
    def __init__(self, report: HealthReport | None = None, error: Exception | None = None) -> None:
        self.report = report
        self.error = error

    async def check(self) -> HealthReport:
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def report(*, kafka_ok: bool = True, clickhouse_ok: bool = True) -> HealthReport:
    return HealthReport(
        ok=kafka_ok and clickhouse_ok,
        kafka=ComponentHealth(ok=kafka_ok, latency_ms=1.5, error=None if kafka_ok else "connection refused"),
        clickhouse=ComponentHealth(ok=clickhouse_ok, latency_ms=0.5),
        consumer_lag=[TopicLag(topic="shares", lag=7)],
    )


def make_client(probe: FakeProbe | None = None) -> TestClient[Any]:
    deps = ApiDeps(
        clickhouse=ExplodingClient(),  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        settings=ApiSettings(version="9.9.9"),
        health=probe or FakeProbe(report()),
    )
    return TestClient(create_app(deps), raise_server_exceptions=False)


@pytest.fixture()
def client() -> Iterator[TestClient[Any]]:
    with make_client() as test_client:
        yield test_client
