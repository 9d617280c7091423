"""Property-based fuzzing of the OpenAPI document against the real app on chDB (schemathesis): for every
operation, generated requests — well-formed and not — never get a 5xx or a stack trace, and every answer
matches the schema the document gives for its status. Requests carry an admin API key, so guarded
operations are exercised past their guards. `make fuzz-api` runs many more examples (slow marker).

Left out: operations whose documented effect is a 5xx or a long side effect (maintenance mode on, a
backup, gateway control) — their own tests cover them."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from clickhouse_connect.driver.client import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from api.settings import ServedPort
from schemas.clock import SystemClock
from sinks.client import ClickHouseSettings
from tests.support_auth import TEST_JWT_SECRET, auth_headers, create_user_key

pytestmark = pytest.mark.integration

MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
PORTS = (ServedPort("sha256d", 3333, 0.01, 0.0001, 1e12), ServedPort("scrypt", 3337, 0.5, 0.001, 1e9))
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
SKIPPED = {"PUT /api/v1/admin/config", "POST /api/v1/config", "POST /api/v1/admin/backup",
           "POST /api/v1/control/start", "POST /api/v1/control/stop", "POST /api/v1/control/restart",
           "DELETE /api/v1/auth/keys/{key_id}"}
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance]


class Probe:
    async def check(self) -> HealthReport:
        ok = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=ok, clickhouse=ok, consumer_lag=[])


def test_no_server_error_and_answers_match_their_schema(
        clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]]) -> None:
    clickhouse, ch_settings = clickhouse_factory()
    now = dt.datetime.now(dt.UTC)
    clickhouse.insert("shares", [[now - dt.timedelta(minutes=i), "sha256d", MINER, f"rig{i % 3}", 8.0, "accepted", "gpu"]
                                 for i in range(30)],
                      column_names=["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"])
    headers = auth_headers(create_user_key(clickhouse, "admin"))
    api_settings = ApiSettings(rate_limit_enabled=False, stratum_ports=PORTS, jwt_secret=TEST_JWT_SECRET)
    app = create_app(ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=api_settings, health=Probe(),
                             clickhouse_settings=ch_settings))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    tried: list[str] = []
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name in SKIPPED:
            continue
        tried.append(name)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not os.environ.get("API_FUZZ_RANDOM"),
                  database=None)
        def fuzz(case: Any) -> None:
            response = case.call(headers=dict(headers))
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert "Traceback" not in response.text
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # collected: one report for every operation that fails
            failures.append(f"{name}: {str(exc)[:1500]}")
    assert len(tried) >= 40, tried
    # generated requests really reached the app, and both valid and invalid ones were among them
    assert sum(statuses.values()) >= len(tried) * min(EXAMPLES, 2), statuses
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0, statuses
    assert not failures, "\n\n".join(failures)
