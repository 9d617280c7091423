"""Admin endpoints against a real chDB: live config (validated, audited, persisted, maintenance mode and rate
tiers applied live), analysts' read-only SQL, backups, monitoring metrics and the seed 002 control routes
(no gateway in this app: INVALID_REQUEST)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from schemas.clock import SystemClock
from sinks.client import ClickHouseSettings
from tests.support_auth import TEST_JWT_SECRET, jwt_headers

pytestmark = pytest.mark.integration
ADMIN = jwt_headers("admin", subject="alice")
READ = jwt_headers("read", subject="reader")


class Probe:
    async def check(self) -> HealthReport:
        up = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=up, clickhouse=up, consumer_lag=[])


AppFactory = Callable[[], TestClient[Any]]


@pytest.fixture()
def db(clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]]) -> tuple[Client, ClickHouseSettings]:
    return clickhouse_factory()


@pytest.fixture()
def make_api(db: tuple[Client, ClickHouseSettings]) -> Iterator[AppFactory]:
    client, ch = db
    opened: list[TestClient[Any]] = []

    def make() -> TestClient[Any]:
        settings = ApiSettings(jwt_secret=TEST_JWT_SECRET, rate_limit_enabled=False, query_max_rows=50)
        deps = ApiDeps(clickhouse=client, clock=SystemClock(), settings=settings, health=Probe(),
                       clickhouse_settings=ch)
        test_client = TestClient(create_app(deps), raise_server_exceptions=False)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


def audit(client: Client, action: str) -> list[dict[str, Any]]:
    rows = client.query("SELECT actor, target, details FROM audit_log WHERE action = {a:String} ORDER BY ts",
                        parameters={"a": action}).result_rows
    return [{"actor": r[0], "target": r[1], "details": json.loads(r[2])} for r in rows]


def test_maintenance_mode_refuses_writes_and_survives_a_restart(make_api: AppFactory,
                                                                 db: tuple[Client, ClickHouseSettings]) -> None:
    api = make_api()
    answer = api.put("/api/v1/admin/config", json={"section": "api", "settings": {"maintenance_mode": True}},
                     headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["applied"] == {"maintenance_mode": True}
    refused = api.post("/api/v1/participants", json={"name": "x"}, headers=ADMIN)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "MAINTENANCE"
    assert api.get("/api/v1/stats").status_code == 200  # reads work
    assert api.get("/api/v1/admin/config", headers=ADMIN).json()["data"]["api"]["maintenance_mode"] is True
    [entry] = audit(db[0], "config.update")
    assert entry["actor"] == "alice"
    assert entry["details"]["changes"]["maintenance_mode"] == {"old": False, "new": True}

    again = make_api()  # a new app on the same database: the stored change is applied at start
    assert again.post("/api/v1/participants", json={"name": "x"}, headers=ADMIN).status_code == 503
    off = again.put("/api/v1/admin/config", json={"section": "api", "settings": {"maintenance_mode": False}},
                    headers=ADMIN)  # admin writes stay open
    assert off.status_code == 200
    assert again.post("/api/v1/participants", json={"name": "x"}, headers=ADMIN).status_code != 503


def test_rate_tiers_change_live_and_mining_is_stored_not_applied(make_api: AppFactory,
                                                                  db: tuple[Client, ClickHouseSettings]) -> None:
    api = make_api()
    answer = api.put("/api/v1/admin/config", json={"section": "api", "settings": {"rate_limits": {"premium": 7}}},
                     headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["settings"]["rate_limits"]["premium"] == 7
    limits = api.get("/api/v1/admin/config", headers=ADMIN).json()["data"]["api"]["rate_limits"]
    assert limits == {"anonymous": 100, "authenticated": 1000, "premium": 7, "enterprise": 10000}

    mining = api.put("/api/v1/admin/config", json={"section": "mining",
                                                   "settings": {"minimum_payout": 0.001, "pool_fee": 1.0}},
                     headers=ADMIN).json()["data"]
    assert mining["applied"] == {"minimum_payout": False, "pool_fee": False}
    assert "issue 9" in mining["notes"][0]
    stored = db[0].query("SELECT key, value, applied FROM config_changes WHERE section = 'mining' ORDER BY key"
                         ).result_rows
    assert stored == [("minimum_payout", "0.001", 0), ("pool_fee", "1.0", 0)]
    stratum = api.put("/api/v1/admin/config", json={"section": "stratum", "settings": {"vardiff_target_s": 5}},
                      headers=ADMIN).json()["data"]
    assert stratum["applied"] == {"vardiff_target_s": False}  # no gateway in this app


@pytest.mark.parametrize("body, key", [
    ({"section": "nope", "settings": {"a": 1}}, None),
    ({"section": "api", "settings": {"maintenance_mode": "yes"}}, "api.maintenance_mode"),
    ({"section": "api", "settings": {"rate_limits": {"anonymous": 0}}}, "api.rate_limits"),
    ({"section": "stratum", "settings": {"vardiff_target_s": 10_000}}, "stratum.vardiff_target_s"),
    ({"section": "mining", "settings": {"pool_fee": 101}}, "mining.pool_fee"),
    ({"section": "mining", "settings": {"payout_every": 1}}, "mining.payout_every"),
])
def test_bad_config_is_invalid_request_naming_the_key(make_api: AppFactory, body: dict[str, Any],
                                                      key: str | None) -> None:
    answer = make_api().put("/api/v1/admin/config", json=body, headers=ADMIN)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    if key is not None:
        assert [e["key"] for e in error["details"]["errors"]] == [key]


def test_query_is_read_only_limited_and_audited(make_api: AppFactory, db: tuple[Client, ClickHouseSettings]) -> None:
    api = make_api()
    ok = api.post("/api/v1/admin/query", json={"sql": "SELECT number AS n, toString(n) AS s FROM numbers(3)"},
                  headers=ADMIN)
    assert ok.status_code == 200, ok.text
    data = ok.json()["data"]
    assert data["columns"] == [{"name": "n", "type": "UInt64"}, {"name": "s", "type": "String"}]
    assert data["rows"] == [[0, "0"], [1, "1"], [2, "2"]] and data["truncated"] is False

    cut = api.post("/api/v1/admin/query", json={"sql": "SELECT number FROM numbers(1000)"}, headers=ADMIN).json()
    assert cut["data"]["row_count"] == 50 and cut["data"]["truncated"] is True  # API_QUERY_MAX_ROWS=50
    csv = api.post("/api/v1/admin/query", json={"sql": "SELECT 1 AS a, 'x,y' AS b", "format": "csv"},
                   headers=ADMIN).json()["data"]
    assert csv["csv"] == 'a,b\n1,"x,y"\n'

    for sql in ("INSERT INTO audit_log (actor) VALUES ('mallory')", "DROP TABLE shares",
                "SELECT 1 INTO OUTFILE '/tmp/poolstream-should-not-exist.csv'"):
        refused = api.post("/api/v1/admin/query", json={"sql": sql}, headers=ADMIN)
        assert refused.status_code == 400, sql
        assert refused.json()["error"]["code"] == "INVALID_REQUEST"
    assert "readonly" in api.post("/api/v1/admin/query", json={"sql": "DROP TABLE shares"},
                                  headers=ADMIN).json()["error"]["message"].lower()
    assert db[0].query("SELECT count() FROM shares").result_rows == [(0,)]  # still there
    assert api.post("/api/v1/admin/query", json={"sql": "SELECT 1", "max_rows": 51}, headers=ADMIN).status_code == 400
    assert len(audit(db[0], "query")) == 3
    assert len(audit(db[0], "query.refused")) == 4


def test_backup_through_the_api(make_api: AppFactory, db: tuple[Client, ClickHouseSettings]) -> None:
    api = make_api()
    answer = api.post("/api/v1/admin/backup", json={"type": "full", "destination": "local", "encrypt": False},
                      headers=ADMIN)
    assert answer.status_code == 200, answer.text
    info = answer.json()["data"]
    assert info["status"] == "BACKUP_CREATED" and info["size_bytes"] > 0 and info["files"] > 0
    assert info["path"].startswith(str(db[1].backups_path))
    assert api.get(f"/api/v1/admin/backup/{info['id']}", headers=ADMIN).json()["data"]["status"] == "BACKUP_CREATED"
    encrypted = api.post("/api/v1/admin/backup", json={"type": "full", "destination": "local", "encrypt": True},
                         headers=ADMIN)
    assert encrypted.status_code == 400 and "zip" in encrypted.json()["error"]["message"]
    s3 = api.post("/api/v1/admin/backup", json={"destination": "s3"}, headers=ADMIN)
    assert s3.status_code == 400 and "BACKUP_S3_URL" in s3.json()["error"]["message"]
    assert [a["details"]["status"] for a in audit(db[0], "backup")] == ["BACKUP_CREATED"]


def test_monitoring_metrics_and_seed_002_routes(make_api: AppFactory) -> None:
    api = make_api()
    data = api.get("/api/v1/monitoring/metrics", headers=READ).json()["data"]
    assert set(data["system"]["network_io"]) == {"in", "out"}
    assert 0 <= data["system"]["disk_usage"] <= 100 and data["system"]["disk_usage"] > 0
    assert data["mining"] == {"total_hashrate": 0.0, "active_workers": 0, "shares_per_second": 0.0,
                              "rejection_rate": 0.0}
    assert set(data["stratum"]) == {"connections", "jobs_sent", "shares_received"}
    assert data["p2p"]["sync_status"] == "standalone"

    health = api.get("/api/v1/health").json()
    assert health["status"] == "healthy" and health["components"]["mining"] == "not_configured"
    assert dt.datetime.fromisoformat(health["timestamp"])
    status = api.get("/api/v1/status", headers=READ).json()["data"]
    assert status["running"] is False and status["components"]["mining"]["status"] == "not_configured"
    assert api.get("/api/v1/config", headers=ADMIN).json()["data"]["stratum"]["gateway"] == "not_configured"
    for action in ("start", "stop", "restart"):
        answer = api.post(f"/api/v1/control/{action}", headers=ADMIN)
        assert answer.status_code == 400
        assert "none runs in this process" in answer.json()["error"]["message"]


def test_admin_health_has_the_seed_shape(make_api: AppFactory) -> None:
    data = make_api().get("/api/v1/admin/health").json()["data"]
    assert data["status"] == "healthy"
    assert {"database", "stratum", "payment_processor", "federation", "kafka", "agents", "broker"} <= set(
        data["components"])
    assert data["components"]["payment_processor"] == "not_configured"
    assert set(data["metrics"]) == {"cpu_usage", "memory_usage", "disk_usage", "network_in", "network_out"}
    assert all(isinstance(v, float) for v in data["metrics"].values())


def test_backups_path_defaults_beside_the_chdb_directory(db: tuple[Client, ClickHouseSettings]) -> None:
    _, ch = db
    assert ch.backups_path is not None and ch.backups_path.endswith("/backups")
    assert dataclasses.replace(ch, backup_dir="/x/y").backups_path == "/x/y"
