"""Admin parts without ClickHouse: config validation, maintenance rules, the gateway control with a fake
gateway, the live vardiff retune, query rendering and refusals, counter rates, and the health 503 body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from api.errors import InvalidRequest
from api.maintenance import MaintenanceMiddleware, MaintenanceState
from api.services.gateway_control import GatewayControl
from api.services.live_config import validate
from api.services.query import Column, QueryRefused, QueryResult, as_csv, as_table, run_readonly
from api.services.system_sampler import Rate, counter_total
from sources.stratum.vardiff import Vardiff, VardiffPolicy
from tests.unit.api.conftest import FakeProbe, make_client, report


class FakeGateway:
    def __init__(self) -> None:
        self.closed = False
        self.target: float | None = None
        self.connection_count = 3

    def set_vardiff_target(self, target_s: float) -> None:
        self.target = target_s

    async def close(self) -> None:
        self.closed = True


def test_validate_checks_types_ranges_and_names_every_bad_key() -> None:
    assert validate("api", {"rate_limits": {"premium": 7}}) == {"rate_limits": {"premium": 7}}
    assert validate("stratum", {"vardiff_target_s": 5}) == {"vardiff_target_s": 5.0}
    with pytest.raises(InvalidRequest) as caught:
        validate("mining", {"pool_fee": -1, "minimum_payout": 0, "x": 1})
    assert sorted(e["key"] for e in caught.value.details["errors"]) == [
        "mining.minimum_payout", "mining.pool_fee", "mining.x"]
    with pytest.raises(InvalidRequest):
        validate("api", {"maintenance_mode": 1})  # an int is not a bool
    with pytest.raises(InvalidRequest):
        validate("api", {"rate_limits": {"anonymous": True}})
    with pytest.raises(InvalidRequest, match="unknown config section"):
        validate("payouts", {"a": 1})


def test_maintenance_refuses_writes_but_not_admin_auth_or_reads() -> None:
    rule = MaintenanceMiddleware(MaintenanceState(on=True))
    assert rule.refuses("POST", "/api/v1/workers")
    assert rule.refuses("DELETE", "/api/v1/workers/3")
    assert not rule.refuses("GET", "/api/v1/workers")
    assert not rule.refuses("PUT", "/api/v1/admin/config")
    assert not rule.refuses("POST", "/api/v1/auth/api-key")
    assert not rule.refuses("POST", "/metrics")


def test_gateway_control_stops_starts_restarts_and_keeps_the_vardiff_target() -> None:
    started: list[FakeGateway] = []
    stopped: list[object] = []

    async def start() -> FakeGateway:
        started.append(FakeGateway())
        return started[-1]

    async def scenario() -> None:
        control = GatewayControl(vardiff_target_s=10.0)
        with pytest.raises(InvalidRequest, match="no Stratum gateway"):
            await control.stop()  # not bound: no gateway in this process
        control.bind(start, stopped.append)
        await control.launch()
        assert control.status().state == "running" and control.status().connections == 3
        control.set_vardiff_target(4.0)
        assert started[0].target == 4.0
        assert (await control.stop()).state == "stopped" and started[0].closed and stopped == [started[0]]
        assert (await control.stop()).state == "stopped"  # idempotent
        assert (await control.restart()).state == "running"
        assert len(started) == 2 and started[1].target == 4.0  # a new gateway gets the live target
        await control.shutdown()
        assert started[1].closed

    asyncio.run(scenario())


def test_vardiff_retune_follows_the_new_target() -> None:
    policy = VardiffPolicy(target_s=10.0, retarget_s=60.0, variance=0.3, min_difficulty=1, max_difficulty=1e6)
    vardiff = Vardiff(policy, 100.0, now=0.0)
    vardiff.retune(VardiffPolicy(2.0, 60.0, 0.3, 1, 1e6))
    for i in range(8):
        assert vardiff.on_share(now=float(i + 1)) is None  # one share a second vs 2 s: burst is now 60 shares
    assert vardiff.on_share(now=60.0) == pytest.approx(100.0 * 2.0 / (60.0 / 9), rel=1e-6)


class NoClient:
    def raw_query(self, *_: Any, **__: Any) -> bytes:
        raise AssertionError("must not reach ClickHouse")


def test_into_outfile_and_empty_statements_never_reach_clickhouse() -> None:
    for sql in ("SELECT 1 INTO  OUTFILE '/tmp/x'", "  ;  "):
        with pytest.raises(QueryRefused):
            run_readonly(NoClient(), sql, max_rows=10, timeout_s=1)  # type: ignore[arg-type]


def test_table_and_csv_rendering() -> None:
    result = QueryResult(columns=[Column("miner", "String"), Column("n", "UInt64")],
                         rows=[["bc1qa", 5], ["x" * 60, 12345]], row_count=2, truncated=True, elapsed_ms=3.0)
    lines = as_table(result).splitlines()
    assert lines[0].split() == ["miner", "n"]
    assert lines[2].endswith("    5") and lines[3].endswith("12345")  # numbers right-aligned
    assert "…" in lines[3] and len(lines[3]) < 60  # long cells cut
    assert lines[-1] == "(2 rows, 3 ms) (truncated: more rows exist)"
    assert as_csv(result).splitlines()[0] == "miner,n"


def test_counter_totals_and_rates_between_reads() -> None:
    registry = CollectorRegistry()
    stored = Counter("poolstream_shares_ingested_total", "x", ["status"], registry=registry)
    Gauge("poolstream_stratum_connections", "x", ["algorithm"], registry=registry).labels("sha256d").set(4)
    stored.labels("accepted").inc(90)
    stored.labels("rejected").inc(10)
    assert counter_total("poolstream_shares_ingested_total", registry) == 100
    assert counter_total("poolstream_shares_ingested_total", registry, status="rejected") == 10
    assert counter_total("poolstream_stratum_connections", registry) == 4
    now = [0.0]
    rate = Rate(lambda: counter_total("poolstream_shares_ingested_total", registry), clock=lambda: now[0])
    stored.labels("accepted").inc(50)
    now[0] = 0.5
    assert rate.sample() == 0.0  # under the minimum window: the last rate
    now[0] = 2.0
    assert rate.sample() == 25.0 and rate.delta == 50


def test_unhealthy_answers_503_with_the_seed_shape_beside_the_error() -> None:
    with make_client(FakeProbe(report(kafka_ok=False))) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == "INTERNAL_ERROR"
    assert body["data"]["status"] == "unhealthy"
    assert body["data"]["components"]["kafka"] == "unhealthy" and body["data"]["components"]["database"] == "healthy"
    assert body["data"]["components"]["payment_processor"] == "not_configured"
    assert "report" in body["error"]["details"]


def test_healthy_answer_keeps_the_report_fields_and_adds_the_seed_ones() -> None:
    with make_client() as client:
        body = client.get("/api/v1/admin/health").json()
    assert body["success"] is True and "error" not in body
    data = body["data"]
    assert data["status"] == "healthy" and data["ok"] is True
    assert data["components"]["stratum"] == "not_configured"
    assert set(data["metrics"]) == {"cpu_usage", "memory_usage", "disk_usage", "network_in", "network_out"}
