"""create_app wiring: the runtime's lifespans run with the app; success answers carry the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from schemas.clock import FixedClock
from tests.unit.api.conftest import NOW, ExplodingClient, FakeProbe, report


def test_lifespans_from_the_runtime_start_and_stop_with_the_app() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def component(app: Litestar) -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    deps = ApiDeps(
        clickhouse=ExplodingClient(),  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        settings=ApiSettings(),
        health=FakeProbe(report()),
        lifespan=[component],
    )
    with TestClient(create_app(deps)) as client:
        assert events == ["start"]
        body = client.get("/api/v1/admin/health").json()
        assert set(body) == {"success", "data", "meta"}
        assert body["meta"] == {"timestamp": "2025-03-01T12:00:20Z", "version": "1.0"}  # API_VERSION
    assert events == ["start", "stop"]
