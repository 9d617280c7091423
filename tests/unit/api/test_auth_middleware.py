"""The authentication and rate-limit middleware on a small app, and their wiring in `create_app`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.auth.authenticator import Authenticator
from api.auth.middleware import AuthMiddleware, RefusalMiddleware
from api.errors import handle_exception
from api.ratelimit import RateLimiter, RateLimitMiddleware
from api.security import Permission, Tier, principal_of, requires
from api.security_events import EVENTS
from schemas.clock import FixedClock
from tests.support_auth import TEST_JWT_SECRET, jwt_headers
from tests.unit.api.conftest import NOW, ExplodingClient, FakeProbe, report

LIMITS = {Tier.ANONYMOUS: 3, Tier.AUTHENTICATED: 5, Tier.PREMIUM: 7, Tier.ENTERPRISE: 9}


@get("/api/v1/public", sync_to_thread=False)
def public(request: Any) -> dict[str, str]:
    return {"subject": principal_of(request).subject}


@get("/api/v1/write", guards=[requires(Permission.WRITE)], sync_to_thread=False)
def writer() -> dict[str, str]:
    return {"ok": "yes"}


@websocket("/api/ws")
async def socket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json({"subject": principal_of(socket).subject})
    await socket.close()


@get("/metrics", sync_to_thread=False)
def metrics() -> str:
    return "m"


def small_app(limiter: RateLimiter) -> Litestar:
    auth = Authenticator(None, FixedClock(NOW), jwt_secret=TEST_JWT_SECRET)  # type: ignore[arg-type]
    return Litestar(route_handlers=[public, writer, metrics, socket],
                    middleware=[AuthMiddleware(auth), RateLimitMiddleware(limiter), RefusalMiddleware()],
                    exception_handlers={Exception: handle_exception})


@pytest.fixture()
def client() -> Iterator[TestClient[Any]]:
    with TestClient(small_app(RateLimiter(LIMITS))) as test_client:
        yield test_client


def test_no_header_is_anonymous_and_a_jwt_names_the_caller(client: TestClient[Any]) -> None:
    assert client.get("/api/v1/public").json() == {"subject": "anonymous"}
    assert client.get("/api/v1/public", headers=jwt_headers("read", subject="ann")).json() == {"subject": "ann"}


def test_bad_credentials_are_401_even_on_a_public_route_counted_and_rate_limited(client: TestClient[Any]) -> None:
    before = EVENTS.counts()["unauthorized"]
    answer = client.get("/api/v1/public", headers={"Authorization": "Bearer ps_live_nope"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "UNAUTHORIZED"
    assert answer.headers["X-RateLimit-Tier"] == "anonymous" and answer.headers["X-RateLimit-Remaining"] == "2"
    assert EVENTS.counts()["unauthorized"] == before + 1
    expired = jwt_headers("admin", now=NOW - dt.timedelta(hours=2))
    assert client.get("/api/v1/public", headers=expired).json()["error"]["message"] == "the JWT has expired"


def test_websocket_upgrades_are_authenticated_by_header(client: TestClient[Any]) -> None:
    with client.websocket_connect("/api/ws", headers=jwt_headers("read", subject="sam")) as ws:
        assert ws.receive_json() == {"subject": "sam"}
    with pytest.raises(WebSocketDisconnect) as refused, \
            client.websocket_connect("/api/ws", headers={"Authorization": "Bearer junk"}) as ws:
        ws.receive_json()
    assert refused.value.code == 1008 and "UNAUTHORIZED" in str(refused.value.detail)


def test_guards_see_the_principal(client: TestClient[Any]) -> None:
    assert client.get("/api/v1/write").status_code == 401
    assert client.get("/api/v1/write", headers=jwt_headers("read")).status_code == 403
    assert client.get("/api/v1/write", headers=jwt_headers("write")).status_code == 200


def test_limits_by_tier_with_headers_then_429_with_retry_after(client: TestClient[Any]) -> None:
    seen = [client.get("/api/v1/public") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in seen)
    limited = seen[-1]
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(dt.datetime.now(dt.UTC).timestamp())
    # another caller has its own budget and its tier's limit; /metrics is never limited
    premium = client.get("/api/v1/public", headers=jwt_headers("read", tier=Tier.PREMIUM))
    assert premium.status_code == 200 and premium.headers["X-RateLimit-Limit"] == "7"
    assert premium.headers["X-RateLimit-Tier"] == "premium"
    assert client.get("/metrics").status_code == 200 and "X-RateLimit-Limit" not in client.get("/metrics").headers


def test_set_limits_applies_live_and_disabled_limits_add_nothing() -> None:
    limiter = RateLimiter(LIMITS)
    with TestClient(small_app(limiter)) as client:
        limiter.set_limits({Tier.ANONYMOUS: 1})
        assert [client.get("/api/v1/public").status_code for _ in range(2)] == [200, 429]
        assert limiter.limits()["anonymous"] == 1 and limiter.limits()["premium"] == 7
        limiter.enabled = False
        answer = client.get("/api/v1/public")
        assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers
    with pytest.raises(ValueError):
        limiter.set_limits({Tier.PREMIUM: 0})


def test_create_app_wires_auth_rate_limits_and_counts_malformed_requests() -> None:
    deps = ApiDeps(clickhouse=ExplodingClient(), clock=FixedClock(NOW),  # type: ignore[arg-type]
                   settings=ApiSettings(jwt_secret=TEST_JWT_SECRET), health=FakeProbe(report()))
    with TestClient(create_app(deps), raise_server_exceptions=False) as client:
        anonymous = client.get("/api/v1/security/threats")
        assert anonymous.status_code == 401 and anonymous.headers["X-RateLimit-Limit"] == "100"
        assert client.get("/api/v1/security/threats", headers=jwt_headers("write")).status_code == 403
        threats = client.get("/api/v1/security/threats", headers=jwt_headers("admin"))
        assert threats.status_code == 200, threats.text
        data = threats.json()["data"]
        assert data["blocked_ips"] == [] and data["active_threats"] == 0
        assert data["suspicious_activity"]["failed_authentications"] == EVENTS.counts()["unauthorized"]
        before = EVENTS.counts()["malformed"]
        bad = client.post("/api/v1/auth/api-key", json={"username": "a"})
        assert bad.status_code == 400 and EVENTS.counts()["malformed"] == before + 1
        token = client.post("/api/v1/auth/token", json={"username": "a", "password": "b", "extra": 1})
        assert token.status_code == 400  # unknown fields are refused on credentials

