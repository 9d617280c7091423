"""Participants (seed 004) against a real chDB with real API keys: create, list (paged, own only), by id and
by wallet with worker totals; bad or duplicate addresses are INVALID_REQUEST; others' are NOT_FOUND."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from tests.integration.test_api_workers import ALICE_WALLET, BOB_WALLET, NOW, SHARE_COLUMNS, Api, make_api

pytestmark = pytest.mark.integration

SEED_004_FIELDS: dict[str, type | tuple[type, ...]] = {"id": int, "ton_wallet_address": str, "username": str, "is_active": bool, "total_workers": int,
                   "active_workers": int, "total_revenue_ton": (int, float), "total_payouts": int}


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    yield from make_api(clickhouse)


def test_create_read_and_totals(api: Api) -> None:
    created = api.call("POST", "/participants", expect=201, json={
        "ton_wallet_address": ALICE_WALLET, "telegram_user_id": 123456789, "username": "user123",
        "email": "user@example.com"})
    for name, kind in SEED_004_FIELDS.items():
        assert isinstance(created[name], kind), name
    assert created["address"] == created["ton_wallet_address"] == ALICE_WALLET
    assert (created["owner"], created["total_workers"], created["total_revenue"]) == ("alice", 0, 0)
    pid = created["id"]

    for name in ("rig1", "rig2"):
        api.call("POST", "/workers", expect=201, json={"participant_id": pid, "worker_name": name})
    api.clickhouse.insert("shares", [
        [NOW - dt.timedelta(minutes=2), "sha256d", ALICE_WALLET, "rig1", 1.0, "accepted", "gpu"],
        [NOW - dt.timedelta(minutes=30), "sha256d", ALICE_WALLET, "rig2", 1.0, "accepted", "gpu"],  # too old
        [NOW - dt.timedelta(minutes=1), "sha256d", ALICE_WALLET, "unregistered", 1.0, "accepted", "gpu"],
    ], column_names=SHARE_COLUMNS)
    one = api.call("GET", f"/participants/{pid}")
    assert (one["total_workers"], one["active_workers"], one["total_payouts"]) == (2, 1, 0)
    assert api.call("GET", f"/participants/wallet/{ALICE_WALLET}") == one

    api.call("POST", "/participants", expect=201, json={"address": BOB_WALLET, "username": "second"})
    page = api.client.get("/api/v1/participants", params={"limit": 1, "page": 2}, headers=api.keys["alice"]).json()
    assert page["meta"]["total"] == 2 and [p["ton_wallet_address"] for p in page["data"]] == [BOB_WALLET]
    logged = api.clickhouse.query("SELECT count() FROM audit_log WHERE action = 'participant.create'").result_rows
    assert logged == [(2,)]


def test_bad_or_taken_addresses_and_others_participants(api: Api) -> None:
    for body in ({"ton_wallet_address": "UQAbc...xyz"}, {"ton_wallet_address": "short"}, {},
                 {"ton_wallet_address": ALICE_WALLET, "address": BOB_WALLET},
                 {"ton_wallet_address": ALICE_WALLET, "email": "not-an-email"},
                 {"ton_wallet_address": ALICE_WALLET, "wallet": "x"}):
        error = api.call("POST", "/participants", json=body, expect=400)
        assert error["code"] == "INVALID_REQUEST"
    api.call("GET", "/participants/wallet/not!an!address", expect=400)
    pid = api.call("POST", "/participants", expect=201, json={"ton_wallet_address": ALICE_WALLET})["id"]
    taken = api.call("POST", "/participants", "bob", json={"ton_wallet_address": ALICE_WALLET}, expect=400)
    assert taken["details"]["field"] == "ton_wallet_address"

    assert api.call("GET", f"/participants/{pid}", "bob", expect=404)["code"] == "NOT_FOUND"
    api.call("GET", f"/participants/wallet/{ALICE_WALLET}", "bob", expect=404)
    assert api.call("GET", "/participants", "bob") == []
    api.call("POST", "/workers", "bob", json={"participant_id": pid, "name": "mine"}, expect=404)
    assert api.call("GET", f"/participants/{pid}", "admin")["id"] == pid
    assert api.call("GET", f"/participants/{pid}", "reader", expect=404)["code"] == "NOT_FOUND"
    api.call("POST", "/participants", "reader", json={"ton_wallet_address": BOB_WALLET}, expect=403)
    api.call("GET", "/participants", None, expect=401)
