"""Registered workers, their commands and optimization batches against a real chDB, with real API keys and
worker tokens: register -> token stored hashed -> list/filter -> PATCH -> command queued -> polled with the
worker token -> ack -> optimization progresses; other users see nothing; bad input is INVALID_REQUEST."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, create_app
from api.health import ComponentHealth, HealthReport
from api.settings import ApiSettings, ServedPort
from schemas.clock import FixedClock
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOW = TODAY + dt.timedelta(hours=12, seconds=20)
ALICE_WALLET = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP 173 example: a BTC address (sha256d)
BOB_WALLET = "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9"  # an LTC address (scrypt)
PORTS = (ServedPort("sha256d", 3333, 0.01, 0.0001, 1e12), ServedPort("scrypt", 3337, 0.5, 0.001, 1e9))
SHARE_COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]


class Probe:
    async def check(self) -> HealthReport:
        ok = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=ok, clickhouse=ok, consumer_lag=[])


@dataclass
class Api:
    client: TestClient[Any]
    clickhouse: Client
    clock: FixedClock
    keys: dict[str, dict[str, str]]  # alice, bob (write), reader (read), admin -> headers

    def call(self, method: str, path: str, who: str | None = "alice", *, token: str | None = None,
             expect: int = 200, **kwargs: Any) -> Any:
        headers = auth_headers(token) if token else (self.keys[who] if who else {})
        response = self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        assert response.status_code == expect, response.text
        body = response.json()
        assert body["success"] is (expect < 400)
        return body["data"] if expect < 400 else body["error"]


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    yield from make_api(clickhouse)


def make_api(clickhouse: Client) -> Iterator[Api]:
    clock = FixedClock(NOW)
    settings = ApiSettings(stratum_ports=PORTS, stratum_public_host="pool.example.com")
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("bob", "write"), ("reader", "read"), ("admin", "admin"))}
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=settings, health=Probe())
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


def participant(api: Api, who: str = "alice", wallet: str = ALICE_WALLET) -> int:
    created = api.call("POST", "/participants", who, expect=201,
                       json={"ton_wallet_address": wallet, "username": who, "telegram_user_id": 123456789})
    return int(created["id"])


def test_register_list_update_command_ack_and_optimize(api: Api) -> None:
    pid = participant(api)
    # Seed 001's body (no participant_id: alice's only participant).
    rig1 = api.call("POST", "/workers", expect=201,
                    json={"name": "rig1", "hardware_type": "GPU", "algorithm": "SHA256d", "currency": "BTC"})
    assert rig1["name"] == "rig1" and isinstance(rig1["id"], int)
    assert rig1["token"].startswith(f"psw_{rig1['id']}_")
    assert rig1["stratum_url"] == "stratum+tcp://pool.example.com:3333"
    assert rig1["stratum_user"] == f"{ALICE_WALLET}.rig1"
    # Seed 004's body.
    w0 = api.call("POST", "/workers", expect=201, json={
        "participant_id": pid, "worker_name": "Worker-0", "instance_number": 0, "host": "localhost",
        "stats_port": 12000, "price_coefficient": 1.0, "algorithm": "scrypt"})
    assert w0["stratum_url"] == "stratum+tcp://pool.example.com:3337"

    # The token is not stored, only its sha256.
    stored = api.clickhouse.query("SELECT * FROM workers").result_rows
    assert rig1["token"] not in repr(stored) and w0["token"] not in repr(stored)
    hashes = {r[0]: r[1] for r in api.clickhouse.query("SELECT id, token_hash FROM workers FINAL").result_rows}
    assert hashes[rig1["id"]] == hashlib.sha256(rig1["token"].encode()).hexdigest()
    # The seed-shape helper's query finds both names.
    names = api.clickhouse.query("SELECT worker_name FROM workers FINAL WHERE address = {a:String} AND deleted = 0",
                                 parameters={"a": ALICE_WALLET}).result_rows
    assert sorted(n for (n,) in names) == ["Worker-0", "rig1"]

    # rig1 mines: linked to the shares of address.rig1.
    api.clickhouse.insert("shares", [[NOW - dt.timedelta(seconds=60), "sha256d", ALICE_WALLET, "rig1", 50.0,
                                      "accepted", "gpu"]], column_names=SHARE_COLUMNS)
    one = api.call("GET", f"/workers/{rig1['id']}")
    assert (one["status"], one["latest_status"], one["registered"]) == ("online", "healthy", True)
    assert one["hashrate"] > 0 and one["last_share"] is not None
    assert one["latest_gpu_utilization"] is None and one["latest_revenue_ton"] == 0
    idle = api.call("GET", f"/workers/{w0['id']}")
    assert (idle["status"], idle["latest_status"], idle["hashrate"]) == ("offline", "unknown", 0.0)
    assert api.call("GET", f"/participants/{pid}")["active_workers"] == 1

    # List with filters, PATCH (seed 004) and PUT (seed 001).
    listed = api.client.get("/api/v1/workers", params={"participant_id": pid, "limit": 1}, headers=api.keys["alice"])
    assert listed.json()["meta"]["total"] == 2 and len(listed.json()["data"]) == 1
    assert api.call("GET", "/workers", params={"is_active": "false"}) == []
    patched = api.call("PATCH", f"/workers/{w0['id']}", json={"is_active": False, "price_coefficient": 1.2})
    assert (patched["is_active"], patched["price_coefficient"]) == (False, 1.2)
    inactive = api.call("GET", "/workers", params={"is_active": "false"})
    assert [w["id"] for w in inactive] == [w0["id"]]
    put = api.call("PUT", f"/workers/{rig1['id']}", json={"config": {"intensity": 20, "threads": 4}})
    assert put["config"] == {"intensity": 20, "threads": 4} and put["name"] == "rig1"

    # A command, polled by the rig agent with its token, then acknowledged.
    queued = api.call("POST", f"/workers/{rig1['id']}/commands", expect=201,
                      json={"command": "restart", "parameters": {}})
    assert queued["status"] == "queued"
    pending = api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=rig1["token"])
    assert [(c["id"], c["status"]) for c in pending] == [(queued["id"], "delivered")]
    assert api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=rig1["token"]) == []
    api.clock.advance(61)  # not acknowledged in time: handed out again
    assert [c["id"] for c in api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=rig1["token"])] \
        == [queued["id"]]
    acked = api.call("POST", f"/workers/{rig1['id']}/commands/{queued['id']}/ack", token=rig1["token"],
                     json={"status": "done", "result": {"uptime_s": 3}})
    assert (acked["status"], acked["result"]) == ("acked", {"uptime_s": 3})
    # Another worker's token cannot touch rig1; a made-up token is refused.
    api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=w0["token"], expect=403)
    api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=f"psw_{rig1['id']}_" + "x" * 43, expect=401)
    # A worker token opens nothing else.
    api.call("GET", "/workers", token=rig1["token"], expect=403)

    # Optimization: rig1 is alice's only active GPU worker -> 2 commands.
    started = api.call("POST", "/optimization/start", expect=201, json={
        "hardware_type": "GPU", "algorithm": "SHA256d", "optimization_level": "aggressive", "safety_mode": True})
    assert (started["status"], started["workers"], started["commands"]) == ("running", 1, 2)
    assert started["optimization_id"].startswith("opt_") and started["estimated_duration"] > 0
    status = api.call("GET", f"/optimization/{started['optimization_id']}/status")
    assert (status["status"], status["progress"]) == ("running", 0)
    batch = api.call("GET", f"/workers/{rig1['id']}/commands/pending", token=rig1["token"])
    assert {c["command"] for c in batch} == {"set_power_limit", "update_config"}
    power = next(c for c in batch if c["command"] == "set_power_limit")
    assert power["parameters"] == {"percent": 80}  # aggressive is 70%, safety mode keeps 80%
    for done, command in enumerate(batch, start=1):
        api.call("POST", f"/workers/{rig1['id']}/commands/{command['id']}/ack", token=rig1["token"],
                 json={"status": "done"})
        status = api.call("GET", f"/optimization/{started['optimization_id']}/status")
        assert status["progress"] == done * 50
    assert status["status"] == "completed" and status["id"] == started["optimization_id"]
    assert status["results"]["memory_optimization"] == "applied"
    assert status["results"]["thermal_optimization"] == "applied"
    assert isinstance(status["results"]["hashrate_improvement"], float)

    # Every write is in the audit log.
    actions = {a for (a,) in api.clickhouse.query("SELECT action FROM audit_log WHERE actor != 'tests'").result_rows}
    assert {"participant.create", "worker.create", "worker.update", "worker.command", "worker.command.ack",
            "optimization.start"} <= actions


def test_others_cannot_see_or_change_a_worker(api: Api) -> None:
    participant(api)
    rig = api.call("POST", "/workers", expect=201, json={"name": "rig1"})
    path = f"/workers/{rig['id']}"
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"is_active": False}), ("DELETE", "", None),
                                 ("POST", "/commands", {"command": "stop"}), ("GET", "/commands", None),
                                 ("GET", "/commands/pending", None)):
        error = api.call(method, path + suffix, "bob", json=body, expect=404)
        assert error["code"] == "NOT_FOUND"
    assert api.call("GET", "/workers", "bob") == []
    api.call("POST", "/workers", "reader", json={"name": "x"}, expect=403)
    api.call("GET", "/workers", None, expect=401)
    assert api.call("GET", path, "admin")["id"] == rig["id"]  # admin sees every worker
    api.call("POST", "/optimization/start", "bob", json={}, expect=400)  # bob has no worker
    started = api.call("POST", "/optimization/start", json={}, expect=201)
    api.call("GET", f"/optimization/{started['optimization_id']}/status", "bob", expect=404)
    # Deleting a worker revokes its token and removes it from the seed-shape read.
    assert api.call("DELETE", path) == {"id": rig["id"], "deleted": True}
    api.call("GET", path, expect=404)
    api.call("GET", path + "/commands/pending", token=rig["token"], expect=401)
    assert api.clickhouse.query("SELECT count() FROM workers FINAL WHERE deleted = 0").result_rows == [(0,)]


def test_bad_input_is_invalid_request(api: Api) -> None:
    participant(api)
    rig = api.call("POST", "/workers", expect=201, json={"name": "rig1"})
    error = api.call("POST", f"/workers/{rig['id']}/commands", json={"command": "overclock"}, expect=400)
    assert error["code"] == "INVALID_REQUEST"
    assert "restart" in error["details"]["allowed"] and "set_power_limit" in error["details"]["allowed"]
    for bad in ({"command": "set_power_limit", "parameters": {"watts": -1}},
                {"command": "set_power_limit", "parameters": {"watts": 100, "percent": 50}},
                {"command": "set_difficulty", "parameters": {}},
                {"command": "restart", "parameters": {"now": True}},
                {"command": "update_config", "parameters": {}},
                {"command": "stop", "extra": 1}):
        assert api.call("POST", f"/workers/{rig['id']}/commands", json=bad, expect=400)["code"] == "INVALID_REQUEST"
    bad_workers: list[dict[str, Any]] = [
                {"name": "rig1"},  # taken
                {"name": "has space"}, {"name": "rig2", "algorithm": "Ethash"}, {"name": "rig2", "currency": "LTC"},
                {"name": "rig2", "hardware_type": "fpga"}, {"name": "rig2", "participant_id": 999},
                {"name": "rig2", "unknown_field": 1}, {"name": "a", "worker_name": "b"}]
    for bad in bad_workers:
        error = api.call("POST", "/workers", json=bad, expect=404 if "participant_id" in bad else 400)
        assert error["code"] in ("INVALID_REQUEST", "NOT_FOUND")
    error = api.call("GET", "/workers/abc", expect=400)  # not an integer id: INVALID_REQUEST naming it
    assert error["details"]["parameters"] == ["worker_id"]
    api.call("GET", "/workers", params={"limit": 101}, expect=400)
    api.call("GET", "/optimization/nonsense/status", expect=400)
    api.call("POST", "/optimization/start", json={"optimization_level": "ludicrous"}, expect=400)


def test_seed_001_registration_without_a_participant_is_unlinked_until_patched(api: Api) -> None:
    # A seed-001 client knows no participants: its worker is registered, unlinked, with a token and a URL.
    created = api.call("POST", "/workers", "bob", expect=201,
                       json={"name": "my_worker", "hardware_type": "GPU", "algorithm": "Scrypt", "currency": "LTC"})
    assert created["token"].startswith("psw_") and created["stratum_url"] == "stratum+tcp://pool.example.com:3337"
    assert created["participant_id"] == 0 and created["address"] == ""
    # Linking it to a participant gives it that wallet, so `address.worker_name` shares count for it.
    pid = participant(api, "bob", BOB_WALLET)
    linked = api.call("PATCH", f"/workers/{created['id']}", "bob", json={"participant_id": pid})
    assert linked["participant_id"] == pid and linked["address"] == BOB_WALLET
    assert linked["stratum_user"] == f"{BOB_WALLET}.my_worker"
    # Another user's participant cannot be linked.
    other = participant(api, "alice")
    api.call("PATCH", f"/workers/{created['id']}", "bob", json={"participant_id": other}, expect=404)
