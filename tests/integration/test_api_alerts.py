"""Alerts through the API on the real chDB with real keys: `GET /alerts` (filters, paging), a worker's alert
settings (`PUT /workers/{id}/alerts`: owner only; mute and thresholds reach the evaluator), and the Mobile API
(register, preferences round-trip) with pushes reaching a fake gateway only for the devices that want them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from jobs.alert_notify import NotifyJob
from jobs.alert_rules import Thresholds
from jobs.alerts import AlertsJob
from tests.integration.test_api_workers import ALICE_WALLET, BOB_WALLET, Api, make_api, participant
from tests.support_webhook import webhook_receiver

pytestmark = pytest.mark.integration

SHARE_COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    yield from make_api(clickhouse)


def stop_sharing(api: Api, worker: str, silent_s: float, miner: str = ALICE_WALLET) -> None:
    """A share every 10 s for 20 min, the last `silent_s` before the API's clock."""
    last = api.clock.now() - dt.timedelta(seconds=silent_s)
    api.clickhouse.insert("shares", [[last - dt.timedelta(seconds=10 * i), "sha256d", miner, worker, 1.0, "accepted",
                                      "asic"] for i in range(120)], column_names=SHARE_COLUMNS)


def evaluator(api: Api) -> AlertsJob:
    return AlertsJob(api.clickhouse, Thresholds(), clock=api.clock)


def test_list_filters_paging_and_worker_settings(api: Api) -> None:
    participant(api)
    rig = api.call("POST", "/workers", expect=201, json={"name": "rig1", "algorithm": "sha256d"})
    api.call("POST", "/workers", expect=201, json={"name": "rig2", "algorithm": "sha256d"})
    for worker in ("rig1", "rig2", "rig3"):
        stop_sharing(api, worker, 600)
    wid = rig["id"]
    # defaults, then rig1 muted by its owner; others cannot see or change it; a reader cannot write
    shown = api.call("GET", f"/workers/{wid}/alerts")
    assert shown["muted"] is False and shown["offline_intervals"] == 7.0 and shown["custom"] == []
    assert shown["class_temperature_limits"]["asic"] == 80.0
    put = api.call("PUT", f"/workers/{wid}/alerts", json={"muted": True, "temperature_limit": 70})
    assert put["muted"] is True and put["temperature_limit"] == 70 and put["custom"] == ["muted", "temperature_limit"]
    assert api.call("GET", f"/workers/{wid}/alerts")["muted"] is True
    api.call("PUT", f"/workers/{wid}/alerts", "bob", json={"muted": False}, expect=404)
    api.call("PUT", f"/workers/{wid}/alerts", "reader", json={"muted": False}, expect=403)
    assert api.call("PUT", f"/workers/{wid}/alerts", json={"muted": "yes"}, expect=400)["code"] == "INVALID_REQUEST"
    api.call("PUT", f"/workers/{wid}/alerts", json={"hashrate_drop_pct": 100}, expect=400)

    run = evaluator(api).run_once()
    assert sorted(a.worker for a in run.opened) == ["rig2", "rig3"]  # rig1 is muted
    assert api.call("PUT", f"/workers/{wid}/alerts", json={"reset": True})["custom"] == []
    api.clock.advance(60)
    assert [a.worker for a in evaluator(api).run_once().opened] == ["rig1"]

    page = api.client.get("/api/v1/alerts?status=open&limit=2", headers=api.keys["reader"]).json()
    assert page["meta"]["total"] == 3 and page["meta"]["total_pages"] == 2 and len(page["data"]) == 2
    assert page["data"][0]["worker"] == "rig1"  # newest first
    one = page["data"][0]
    assert one["kind"] == "worker_offline" and one["status"] == "open" and one["cleared_at"] is None
    assert one["duration_s"] == 0 and one["threshold"] == 120 and one["miner"] == ALICE_WALLET
    assert [a["worker"] for a in api.call("GET", "/alerts?worker=rig2", "reader")] == ["rig2"]
    assert api.call("GET", "/alerts?status=cleared", "reader") == []
    assert api.call("GET", "/alerts?kind=over_temperature", "reader") == []
    later = (api.clock.now() + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert len(api.call("GET", f"/alerts?since={later}", "reader")) == 3  # open ones always count
    assert api.call("GET", "/alerts?status=maybe", "reader", expect=400)["code"] == "INVALID_REQUEST"
    assert api.call("GET", "/alerts?kind=meteor", "reader", expect=400)["code"] == "INVALID_REQUEST"
    api.call("GET", "/alerts", None, expect=401)


def test_mobile_register_preferences_and_push_only_where_wanted(api: Api) -> None:
    body = {"device_token": "tok-a", "platform": "ios", "miner_address": ALICE_WALLET}
    a = api.call("POST", "/mobile/register", "reader", json=body, expect=201)
    assert a["device_token"] == "tok-a" and a["worker_offline"] is True and a["block_found"] is False
    api.call("POST", "/mobile/register", "reader", expect=201,
             json={"device_token": "tok-b", "platform": "android", "miner_address": ALICE_WALLET})
    api.call("POST", "/mobile/register", "bob", expect=201,
             json={"device_token": "tok-c", "platform": "android", "miner_address": BOB_WALLET})
    api.call("POST", "/mobile/register", "reader", json={**body, "platform": "nokia"}, expect=400)
    api.call("POST", "/mobile/register", "reader", json={**body, "miner_address": "not an address"}, expect=400)
    api.call("POST", "/mobile/register", None, json=body, expect=401)

    # seed body, for one device; then block_found for all of bob's
    changed = api.call("PUT", "/mobile/notifications", "reader",
                       json={"worker_offline": False, "payment_sent": True, "block_found": False, "hashrate_drop": True,
                             "threshold_percentage": 20, "device_token": "tok-b"})
    assert [(d["device_token"], d["worker_offline"]) for d in changed] == [("tok-b", False)]
    api.call("PUT", "/mobile/notifications", "bob", json={"block_found": True})
    mine = {d["device_token"]: d for d in api.call("GET", "/mobile/notifications", "reader")}
    assert set(mine) == {"tok-a", "tok-b"} and mine["tok-b"]["worker_offline"] is False
    assert mine["tok-a"]["worker_offline"] is True and mine["tok-b"]["threshold_percentage"] == 20
    assert api.call("GET", "/mobile/notifications", "bob")[0]["block_found"] is True
    api.call("PUT", "/mobile/notifications", "admin", json={"block_found": True}, expect=404)  # no devices
    api.call("PUT", "/mobile/notifications", "reader", json={"device_token": "tok-c"}, expect=404)  # bob's

    stop_sharing(api, "rig1", 600)
    stop_sharing(api, "rig9", 600, miner=BOB_WALLET)
    assert len(evaluator(api).run_once().opened) == 2
    api.clickhouse.insert("blocks", [["00ab", 840000, api.clock.now(), "sha256d", "BTC", ALICE_WALLET, "rig1",
                                      312500000, 8e13, 9e13, "found", "j1", "", api.clock.now()]],
                          column_names=["hash", "height", "ts", "algorithm", "coin", "miner", "worker", "reward",
                                        "network_difficulty", "share_difficulty", "status", "job_id", "header_hex",
                                        "updated_at"])
    with webhook_receiver("s") as gateway:
        notify = NotifyJob(api.clickhouse, [], "s", push_url=gateway.url, clock=api.clock)
        run = asyncio.run(notify.run())
        assert run.enqueued == 3 and all(d.state == "delivered" for d in run.attempted)
        pushed = {(r.json["event"], r.json["data"].get("alert", {}).get("worker", "")):
                  [d["token"] for d in r.json["devices"]] for r in gateway.received}
        assert pushed == {("alert.opened", "rig1"): ["tok-a"], ("alert.opened", "rig9"): ["tok-c"],
                          ("block.found", ""): ["tok-c"]}
        assert all(r.signature_ok for r in gateway.received)
        assert asyncio.run(notify.run()).enqueued == 0  # once per event
