"""Authentication on a real chDB: users, API keys (create, use, revoke), JWTs, Basic, the bootstrap admin,
the audit log, and rate-limit headers and 429s."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from schemas.clock import SystemClock
from tests.support_auth import TEST_JWT_SECRET, TEST_PASSWORD, auth_headers, create_user_key, jwt_headers

pytestmark = pytest.mark.integration


class Probe:
    async def check(self) -> HealthReport:
        up = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=up, clickhouse=up, consumer_lag=[])


AppFactory = Callable[..., TestClient[Any]]


@pytest.fixture()
def make_api(clickhouse: Client) -> Iterator[AppFactory]:
    opened: list[TestClient[Any]] = []

    def make(**settings: Any) -> TestClient[Any]:
        deps = ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=ApiSettings(**settings), health=Probe())
        client = TestClient(create_app(deps))
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    assert response.json()["success"] is True
    return response.json()["data"]


def test_user_key_request_revoke_then_401(clickhouse: Client, make_api: AppFactory) -> None:
    api = make_api()
    admin = auth_headers(create_user_key(clickhouse, "admin", username="root"))
    created = ok(api.post("/api/v1/users", headers=admin,
                          json={"username": "alice", "password": "alice's long password", "role": "write",
                                "tier": "premium"}))
    assert created["permissions"] == ["read", "write"] and "password" not in str(created)
    assert api.post("/api/v1/users", headers=admin, json={"username": "alice", "password": "x" * 12}).status_code == 400
    issued = ok(api.post("/api/v1/auth/api-key", json={"username": "alice", "password": "alice's long password"}))
    assert issued["api_key"].startswith("ps_live_") and issued["permissions"] == ["read", "write"]
    expires = dt.datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00"))
    assert 364 <= (expires - dt.datetime.now(dt.UTC)).days <= 365
    alice = auth_headers(issued["api_key"])
    keys = ok(api.get("/api/v1/auth/keys", headers=alice))
    assert [k["key_id"] for k in keys] == [issued["key_id"]] and keys[0]["active"] is True
    assert issued["api_key"] not in str(keys)
    listed = api.get("/api/v1/auth/keys", headers=alice)
    assert listed.headers["X-RateLimit-Tier"] == "premium" and listed.headers["X-RateLimit-Limit"] == "5000"
    assert api.get("/api/v1/users", headers=alice).status_code == 403
    assert ok(api.delete(f"/api/v1/auth/keys/{issued['key_id']}", headers=alice)) == {"key_id": issued["key_id"],
                                                                                    "revoked": True}
    refused = api.get("/api/v1/auth/keys", headers=alice)
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    # a fresh process (no cache) reads the revocation from ClickHouse
    assert make_api().get("/api/v1/auth/keys", headers=alice).status_code == 401
    users = api.get("/api/v1/users", headers=admin)
    assert [u["username"] for u in ok(users)] == ["alice", "root"] and users.json()["meta"]["total"] == 2
    actions = clickhouse.query("SELECT actor, action, target FROM audit_log ORDER BY ts").result_rows
    assert ("root", "user.create", "alice") in actions
    assert ("alice", "api_key.revoke", issued["key_id"]) in actions


def test_wrong_password_is_401_and_counted_in_threats(clickhouse: Client, make_api: AppFactory) -> None:
    api = make_api()
    admin = auth_headers(create_user_key(clickhouse, "admin"))
    before = ok(api.get("/api/v1/security/threats", headers=admin))["suspicious_activity"]
    answer = api.post("/api/v1/auth/api-key", json={"username": "nobody", "password": "guess"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "UNAUTHORIZED"
    after = ok(api.get("/api/v1/security/threats", headers=admin))["suspicious_activity"]
    assert after["failed_authentications"] == before["failed_authentications"] + 1
    audit = ok(api.get("/api/v1/security/audit", headers=admin))
    assert audit["last_audit"] is not None and audit["rate_limiting"] == "enforced"
    assert audit["security_level"] == "high" and audit["rate_limits"]["anonymous"] == 100


def test_jwts_issued_and_expired(clickhouse: Client, make_api: AppFactory) -> None:
    create_user_key(clickhouse, "read", username="reader")
    login = {"username": "reader", "password": TEST_PASSWORD}
    refused = make_api().post("/api/v1/auth/token", json=login)
    assert refused.status_code == 400 and "API_JWT_SECRET" in refused.json()["error"]["message"]
    api = make_api(jwt_secret=TEST_JWT_SECRET)
    token = ok(api.post("/api/v1/auth/token", json=login))
    assert token["permissions"] == ["read"] and token["token_type"] == "Bearer"
    assert api.get("/api/v1/auth/keys", headers=auth_headers(token["token"])).status_code == 200
    expired = jwt_headers("read", subject="reader", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    answer = api.get("/api/v1/auth/keys", headers=expired)
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]


def test_basic_only_when_enabled(clickhouse: Client, make_api: AppFactory) -> None:
    create_user_key(clickhouse, "write", username="dev")
    basic = {"Authorization": "Basic " + base64.b64encode(f"dev:{TEST_PASSWORD}".encode()).decode()}
    off = make_api().get("/api/v1/auth/keys", headers=basic)
    assert off.status_code == 401 and "API_ALLOW_BASIC_AUTH" in off.json()["error"]["message"]
    on = make_api(allow_basic_auth=True).get("/api/v1/auth/keys", headers=basic)
    assert on.status_code == 200 and len(on.json()["data"]) == 1


def test_bootstrap_admin_from_settings(make_api: AppFactory) -> None:
    api = make_api(admin_user="boss", admin_password="boss password 1")
    issued = ok(api.post("/api/v1/auth/api-key", json={"username": "boss", "password": "boss password 1"}))
    assert issued["permissions"] == ["admin", "read", "write"]
    assert api.get("/api/v1/users", headers=auth_headers(issued["api_key"])).status_code == 200


def test_tiny_limit_gives_headers_then_429_with_retry_after(clickhouse: Client, make_api: AppFactory) -> None:
    api = make_api(rate_authenticated=2)
    key = auth_headers(create_user_key(clickhouse, "read"))
    answers = [api.get("/api/v1/auth/keys", headers=key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].json()["error"]["code"] == "RATE_LIMITED" and int(answers[2].headers["Retry-After"]) >= 1
    assert api.get("/api/v1/auth/keys").status_code == 401  # anonymous: its own budget, then the guard
