"""`/api/ws` through the real app (Litestar TestClient), without ClickHouse: the route, the handshake's
credentials, `auth` with a JWT, error messages, the rate limit and its close code."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.auth.tokens import issue
from api.security import Permission, Tier
from schemas.clock import FixedClock
from tests.unit.api.conftest import NOW, ExplodingClient, FakeProbe, report

SECRET = "s" * 40


def client(**settings: Any) -> TestClient[Any]:
    deps = ApiDeps(clickhouse=ExplodingClient(), clock=FixedClock(NOW),  # type: ignore[arg-type]
                   settings=ApiSettings(jwt_secret=SECRET, **settings), health=FakeProbe(report()))
    return TestClient(create_app(deps), raise_server_exceptions=False)


def jwt(*permissions: Permission) -> str:
    return issue(SECRET, "alice", frozenset(permissions), Tier.AUTHENTICATED, NOW, 3600)[0]


def test_auth_message_with_a_jwt_opens_the_hardware_channel() -> None:
    with client() as c, c.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "subscribe", "channels": ["hardware"]})
        assert ws.receive_json()["error"]["code"] == "UNAUTHORIZED"
        ws.send_json({"type": "auth", "token": "not-a-token"})
        assert ws.receive_json()["error"]["code"] == "UNAUTHORIZED"
        ws.send_json({"type": "auth", "token": jwt(Permission.READ)})
        answer = ws.receive_json()
        assert answer["type"] == "auth" and answer["data"]["authenticated"] is True
        assert answer["data"]["permissions"] == ["read"]
        ws.send_json({"type": "subscribe", "channels": ["hardware", "stats"]})
        assert ws.receive_json() == {"type": "subscribed", "channels": ["hardware", "stats"]}


def test_handshake_bearer_counts_as_authenticated() -> None:
    with client() as c, c.websocket_connect("/api/ws", headers={"Authorization": f"Bearer {jwt(Permission.READ)}"}) as ws:
        ws.send_json({"type": "subscribe", "channels": ["hardware"]})
        assert ws.receive_json() == {"type": "subscribed", "channels": ["hardware"]}


def test_a_broken_account_store_is_an_error_message_not_a_crash() -> None:
    with client() as c, c.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": "ps_live_abcdefabcdef_" + "x" * 40})
        error = ws.receive_json()["error"]
        assert error["code"] in ("UNAUTHORIZED", "INTERNAL_ERROR") and "boom" not in error["message"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


@pytest.mark.parametrize("frame", ["", "[]", "null", '{"type": "subscribe", "channels": "stats"}', "\x00" * 10])
def test_garbage_frames_get_invalid_request(frame: str) -> None:
    with client() as c, c.websocket_connect("/api/ws") as ws:
        ws.send_text(frame)
        assert ws.receive_json()["error"]["code"] == "INVALID_REQUEST"
        ws.send_bytes(b"\x80\x81")
        assert ws.receive_json()["error"]["code"] == "INVALID_REQUEST"


def test_rate_limit_from_settings_then_close_1008() -> None:
    with client(ws_messages_per_min=3) as c, c.websocket_connect("/api/ws") as ws:
        for _ in range(3):
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["error"]["code"] == "RATE_LIMITED"
        for _ in range(3):
            ws.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(5):
                ws.receive_json()
        assert closed.value.code == 1008


def test_the_route_is_outside_api_v1() -> None:
    with client() as c:
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/api/v1/ws") as ws:
            ws.receive_json()


def test_settings_reach_the_websocket_and_the_federation() -> None:
    from poolstream.settings import SettingsError, load

    s = load({"API_WS_MESSAGES_PER_MIN": "7", "API_WS_SEND_QUEUE": "9", "STRATUM_GATEWAY_ID": "gw-1",
              "STRATUM_REGION": "eu-west"})
    assert (s.api.ws_messages_per_min, s.api.ws_send_queue) == (7, 9)
    assert (s.stratum.gateway_id, s.api.node_id, s.stratum.region) == ("gw-1", "gw-1", "eu-west")
    assert load({}).stratum.gateway_id  # the host name by default
    with pytest.raises(SettingsError, match="STRATUM_GATEWAY_ID"):
        load({"STRATUM_GATEWAY_ID": "gw 1/evil"})
