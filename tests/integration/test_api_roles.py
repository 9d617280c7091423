"""The role matrix: every route of the app × anonymous/read/write/admin/system.

`EXPECTED` maps each `METHOD path` to the least permission it needs (None: public). The test fails for a
route missing from the table (or a stale entry), and checks that a caller below the permission gets 401
(anonymous) or 403 (authenticated), and a caller holding it gets neither. Add your routes here.
Requests with a body send malformed JSON, so an allowed caller gets 400 and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from schemas.clock import SystemClock
from sinks.client import ClickHouseSettings
from tests.support_auth import TEST_JWT_SECRET, jwt_headers

pytestmark = pytest.mark.integration

READ, WRITE, ADMIN, SYSTEM = "read", "write", "admin", "system"
RANK = {None: 0, READ: 1, WRITE: 2, ADMIN: 3, SYSTEM: 4}
CALLERS = ("anonymous", READ, WRITE, ADMIN, SYSTEM)

EXPECTED: dict[str, str | None] = {
    "GET /metrics": None,
    "GET /api/v1/stats": None,
    "GET /api/v1/algorithms": None,
    "GET /api/v1/miners/{address:str}": None,
    "GET /api/v1/miners/{address:str}/payments": None,
    "GET /api/v1/miners/{address:str}/workers": None,
    "GET /api/v1/miners/{address:str}/blocks": None,
    "GET /api/v1/blocks": None,
    "GET /api/v1/monitoring/hardware": None,
    "GET /api/v1/federation/peers": None,
    "GET /api/v1/federation/status": None,
    "GET /api/v1/admin/health": None,
    # auth, users, security (api/controllers/auth.py, users.py, security.py)
    "POST /api/v1/auth/api-key": None,
    "POST /api/v1/auth/token": None,
    "GET /api/v1/auth/keys": READ,
    "DELETE /api/v1/auth/keys/{key_id:str}": READ,
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "GET /api/v1/security/audit": ADMIN,
    "GET /api/v1/security/threats": ADMIN,
    # participants and workers (seed 004)
    "GET /api/v1/participants": READ,
    "POST /api/v1/participants": WRITE,
    "GET /api/v1/participants/{participant_id:int}": READ,
    "GET /api/v1/participants/wallet/{address:str}": READ,
    "GET /api/v1/workers": READ,
    "POST /api/v1/workers": WRITE,
    "GET /api/v1/workers/{worker_id:int}": READ,
    "PUT /api/v1/workers/{worker_id:int}": WRITE,
    "PATCH /api/v1/workers/{worker_id:int}": WRITE,
    "DELETE /api/v1/workers/{worker_id:int}": WRITE,
    "GET /api/v1/workers/{worker_id:int}/commands": READ,
    "POST /api/v1/workers/{worker_id:int}/commands": WRITE,
    "GET /api/v1/workers/{worker_id:int}/metrics": READ,
    "GET /api/v1/workers/{worker_id:int}/stats": READ,
    "GET /api/v1/workers/{worker_id:int}/commands/pending": WRITE,  # or the worker's own token
    "POST /api/v1/workers/{worker_id:int}/commands/{command_id:int}/ack": WRITE,  # or the worker's own token
    "POST /api/v1/optimization/start": WRITE,
    "GET /api/v1/optimization/{optimization_id:str}/status": READ,
    # admin, monitoring, seed 002 control (api/controllers/admin.py, system_metrics.py, control.py)
    "GET /api/v1/admin/config": ADMIN,
    "PUT /api/v1/admin/config": ADMIN,
    "POST /api/v1/admin/backup": ADMIN,
    "GET /api/v1/admin/backup/{backup_id:str}": ADMIN,
    "POST /api/v1/admin/query": ADMIN,
    "POST /api/v1/admin/adjustments": ADMIN,
    "GET /api/v1/blocks/{block_hash:str}": None,
    "GET /api/v1/miners/{address:str}/balances": None,
    "GET /api/v1/miners/{address:str}/earnings": None,
    "GET /api/v1/monitoring/metrics": READ,
    # alerts, per-worker alert settings, Mobile API (api/controllers/alerts.py, mobile.py; issue 10)
    "GET /api/v1/alerts": READ,
    "GET /api/v1/workers/{worker_id:int}/alerts": READ,
    "PUT /api/v1/workers/{worker_id:int}/alerts": WRITE,
    "POST /api/v1/mobile/register": READ,
    "PUT /api/v1/mobile/notifications": READ,
    "GET /api/v1/mobile/notifications": READ,
    "GET /api/v1/health": None,
    "GET /api/v1/status": READ,
    "GET /api/v1/config": ADMIN,
    "POST /api/v1/config": ADMIN,
    "POST /api/v1/control/start": ADMIN,
    "POST /api/v1/control/stop": ADMIN,
    "POST /api/v1/control/restart": ADMIN,
    # prices and tax reports (api/controllers/prices.py, payouts_export.py)
    "POST /api/v1/prices": SYSTEM,
    "GET /api/v1/prices/at": READ,
    "GET /api/v1/payouts/export/tax-report": READ,
    # payouts (api/controllers/payouts.py)
    "GET /api/v1/payouts": READ,
    "GET /api/v1/payouts/{payout_id:str}": READ,
    "POST /api/v1/payouts": ADMIN,
    "GET /api/v1/payouts/participant/{participant_id:int}/summary": READ,
    "PUT /api/v1/miners/{address:str}/threshold": WRITE,
    "GET /api/v1/miners/{address:str}/threshold": READ,
    # telemetry ingestion (api/controllers/telemetry.py)
    "POST /api/v1/telemetry": WRITE,  # or a worker token (its own worker's readings)
    # SFR rewards core (api/rewards/: contributions, calculation, factors, market price; issue 11)
    "POST /api/v1/rewards/contributions": READ,
    "GET /api/v1/rewards/contributions": READ,
    "POST /api/v1/rewards/calculate": READ,
    "POST /api/v1/rewards/calculate/batch": READ,
    "GET /api/v1/rewards/factors/current": READ,
    "PUT /api/v1/rewards/factors": ADMIN,
    "POST /api/v1/rewards/market-price": SYSTEM,
    # SFR holdings, approval, distribution, limits, reports, audit (api/rewards/; issue 11). `{user_id}` is
    # `me` in these calls (SAMPLES): a user reads only their own (REWARD_004 for another's)
    "GET /api/v1/rewards/holding-incentive/{user_id:str}": READ,
    "GET /api/v1/rewards/holding-incentive/{user_id:str}/history": READ,
    "POST /api/v1/rewards/sfr-movements": SYSTEM,
    "POST /api/v1/rewards/approve": ADMIN,
    "POST /api/v1/rewards/reject": ADMIN,
    "POST /api/v1/rewards/distribute": ADMIN,
    "POST /api/v1/rewards/limits": ADMIN,
    "GET /api/v1/rewards/limits": ADMIN,
    "GET /api/v1/rewards/summary/{user_id:str}": READ,
    "GET /api/v1/rewards/statistics/system": ADMIN,
    "GET /api/v1/rewards/audit": ADMIN,
    # SFR batches (api/rewards/batches.py; issue 11); the test endpoints are not registered here (SFR_TEST_ENDPOINTS off)
    "POST /api/v1/rewards/batch/daily": SYSTEM,
    "POST /api/v1/rewards/batch/monthly": SYSTEM,
    # the web dashboard (api/web.py): static pages and their assets, public; the API behind them checks
    "GET /": None,
    "GET /miner/{address:str}": None,
    "GET /operator": None,
    "GET /static/{file_path:path}": None,
    "GET /api/v1/miners/{address:str}/hashrate": None,
    "GET /api/v1/miners": ADMIN,
    # WebSocket routes are listed (method WS) but not called here: see the WebSocket tests
    "WS /api/ws": None,
}

SAMPLES = {"address": "bc1qminerone000000000000000000000000000", "key_id": "000000000000",
           "user_id": "me"}


def routes(app: Litestar) -> set[str]:
    found = set()
    for route in app.routes:
        if route.path.startswith("/schema"):
            continue
        if isinstance(route, HTTPRoute):
            found |= {f"{method} {route.path}" for method in route.methods if method not in ("OPTIONS", "HEAD")}
        else:
            found.add(f"WS {route.path}")
    return found


def concrete(path: str) -> str:
    def sample(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        return SAMPLES.get(name, "1" if kind == "int" else "sample")

    return re.sub(r"\{(\w+):(\w+)\}", sample, path)


class Probe:
    async def check(self) -> HealthReport:
        up = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=up, clickhouse=up, consumer_lag=[])


@pytest.fixture(scope="module")
def api(clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]]) -> Iterator[TestClient[Any]]:
    client, _ = clickhouse_factory()
    settings = ApiSettings(jwt_secret=TEST_JWT_SECRET, rate_limit_enabled=False)
    deps = ApiDeps(clickhouse=client, clock=SystemClock(), settings=settings, health=Probe())
    with TestClient(create_app(deps), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_route_is_in_the_table(api: TestClient[Any]) -> None:
    present = routes(api.app)
    assert sorted(present - set(EXPECTED)) == [], "routes missing from EXPECTED"
    assert sorted(set(EXPECTED) - present) == [], "EXPECTED names routes the app does not have"


@pytest.mark.parametrize("route", sorted(k for k in EXPECTED if not k.startswith("WS ")))
def test_roles(api: TestClient[Any], route: str) -> None:
    method, path = route.split(" ", 1)
    needed = EXPECTED[route]
    wrong = []
    for who in CALLERS:
        headers = {} if who == "anonymous" else jwt_headers(who, subject=f"{who}-caller")
        body = {"content": b"{", "headers": {**headers, "content-type": "application/json"}} \
            if method in ("POST", "PUT", "PATCH") else {"headers": headers}
        status = api.request(method, concrete(path), **body).status_code
        if RANK[who if who != "anonymous" else None] >= RANK[needed]:
            verdict = "allowed" if status not in (401, 403) else f"refused {status}"
            expected_verdict = "allowed"
        else:
            verdict = "allowed" if status not in (401, 403) else str(status)
            expected_verdict = "401" if who == "anonymous" else "403"
        if verdict != expected_verdict:
            wrong.append(f"{who}: expected {expected_verdict}, got {verdict} ({status})")
    assert wrong == [], f"{route} (needs {needed}): " + "; ".join(wrong)
