"""The registry's pure rules: command validation, ids and tokens, the Stratum URL, and the agent guard."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, get
from litestar.middleware import ASGIMiddleware
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from api.auth_workers import WORKER_TOKEN, agent_or_writer
from api.errors import InvalidRequest, handle_exception
from api.security import ROLE_PERMISSIONS, SCOPE_KEY, Principal, Tier
from api.services.commands import ALLOWED, validate
from api.services.optimization import parse_id
from api.services.registry import Actor
from api.services.workers import stratum_endpoints, token_hash, token_worker_id
from api.settings import ApiSettings, ServedPort


def test_known_commands_and_their_parameters() -> None:
    assert ALLOWED == ["restart", "set_difficulty", "set_power_limit", "start", "stop", "update_config"]
    assert validate("restart", {}) == {}
    assert validate("restart", {"delay_s": 5}) == {"delay_s": 5}
    assert validate("set_difficulty", {"difficulty": 0.5}) == {"difficulty": 0.5}
    assert validate("set_power_limit", {"percent": 80}) == {"percent": 80}
    assert validate("update_config", {"intensity": 20, "threads": 4}) == {"intensity": 20, "threads": 4}


@pytest.mark.parametrize(("command", "parameters", "field"), [
    ("reboot_now", {}, "command"),
    ("restart", {"delay_s": 1.5}, "parameters.delay_s"),
    ("restart", {"delay_s": True}, "parameters.delay_s"),
    ("restart", {"force": 1}, "parameters"),
    ("set_difficulty", {}, "parameters.difficulty"),
    ("set_difficulty", {"difficulty": float("nan")}, "parameters.difficulty"),
    ("set_power_limit", {}, "parameters"),
    ("set_power_limit", {"percent": 101}, "parameters.percent"),
    ("set_power_limit", {"percent": 50, "watts": 100}, "parameters"),
    ("update_config", {}, "parameters"),
    ("update_config", {"blob": "x" * 20_000}, "parameters"),
])
def test_bad_commands_name_the_field(command: str, parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate(command, parameters)
    assert caught.value.details["field"] == field
    if field == "command":
        assert caught.value.details["allowed"] == ALLOWED


def test_optimization_ids_and_worker_tokens() -> None:
    assert parse_id("opt_12") == parse_id("12") == 12
    for bad in ("opt_", "opt_x", "-1", "1" * 19):
        with pytest.raises(InvalidRequest):
            parse_id(bad)
    token = "psw_42_" + "A" * 43
    assert token_worker_id(token) == 42
    assert token_worker_id("psw_42_short") is None and token_worker_id("ps_live_x") is None
    assert token_hash(token) != token and len(token_hash(token)) == 64


def test_stratum_url_uses_the_public_host_else_the_stratum_host() -> None:
    ports = (ServedPort("sha256d", 3333, 1, 1, 1), ServedPort("scrypt", 3337, 1, 1, 1))
    private = stratum_endpoints(ApiSettings(stratum_ports=ports, stratum_host="10.0.0.5"))
    assert private.url("scrypt") == "stratum+tcp://10.0.0.5:3337"
    public = stratum_endpoints(ApiSettings(stratum_ports=ports, stratum_public_host="pool.example.com"))
    assert public.url("sha256d") == "stratum+tcp://pool.example.com:3333"


def test_actor_owns_its_own_and_admin_owns_all() -> None:
    writer = Actor.of(Principal("alice", ROLE_PERMISSIONS["write"], Tier.AUTHENTICATED, "api_key"), "1.2.3.4")
    admin = Actor.of(Principal("root", ROLE_PERMISSIONS["admin"], Tier.AUTHENTICATED, "api_key"), "")
    assert writer.owns("alice") and not writer.owns("bob") and admin.owns("bob")


class _As(ASGIMiddleware):
    """Puts the caller named by the `X-Test-Caller` header in the scope (stands in for api.auth)."""

    CALLERS = {
        "worker7": Principal("worker:7", tier=Tier.AUTHENTICATED, method=WORKER_TOKEN, worker_id="7"),
        "reader": Principal("r", ROLE_PERMISSIONS["read"], Tier.AUTHENTICATED, "api_key"),
        "writer": Principal("w", ROLE_PERMISSIONS["write"], Tier.AUTHENTICATED, "api_key"),
    }

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope["headers"])
        name = headers.get(b"x-test-caller", b"").decode()
        if name in self.CALLERS:
            scope[SCOPE_KEY] = self.CALLERS[name]  # type: ignore[literal-required]
        await next_app(scope, receive, send)


@get("/workers/{worker_id:int}/commands/pending", guards=[agent_or_writer], sync_to_thread=False)
def _pending(worker_id: int) -> dict[str, int]:
    return {"worker_id": worker_id}


@pytest.mark.parametrize(("caller", "worker_id", "status"), [
    ("worker7", 7, 200), ("worker7", 8, 403), ("writer", 8, 200), ("reader", 7, 403), ("", 7, 401),
])
def test_agent_guard(caller: str, worker_id: int, status: int) -> None:
    app = Litestar([_pending], middleware=[_As()], exception_handlers={Exception: handle_exception})
    with TestClient(app) as client:
        response = client.get(f"/workers/{worker_id}/commands/pending", headers={"X-Test-Caller": caller})
    assert response.status_code == status, response.text
