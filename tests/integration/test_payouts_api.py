"""The payout routes on a real chDB (dryrun processor): a manual payout (admin) through plan -> send -> ledger,
the lists (own only; filters), one payout, a participant's summary, a miner's payments (seed 001 shape), the
miner threshold (owner or admin) used by the settlement, and the tax report's tx hash from the payouts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, create_app
from api.services.tax_report import ReportQuery, report_rows
from api.settings import ApiSettings
from jobs.settlement import SettlementJob
from schemas.clock import FixedClock
from sinks.ledger import LedgerEntry, LedgerWriter
from sources.wallet import DryRun
from tests.integration.test_api_workers import ALICE_WALLET, BOB_WALLET, NOW, PORTS, Api, Probe, participant
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    clock = FixedClock(NOW)
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("bob", "write"), ("reader", "read"), ("admin", "admin"))}
    job = SettlementJob(clickhouse, DryRun(), codes=("BTC",), clock=clock)
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=ApiSettings(stratum_ports=PORTS), health=Probe(),
                   pay=job.pay)
    ms = int(NOW.timestamp() * 1000)
    LedgerWriter(clickhouse).write([LedgerEntry("adjustment:t1", ms, "BTC", ALICE_WALLET, "adjustment", 1_000_000)],
                                   ms)
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


def test_manual_payout_lists_summary_payments_and_tax_hash(api: Api) -> None:
    pid = participant(api)
    body = {"address": ALICE_WALLET, "coin": "btc", "amount": "0.004"}
    assert api.call("POST", "/payouts", "alice", json=body, expect=403)["code"]
    too_much = api.call("POST", "/payouts", "admin", json={**body, "amount": "0.01000001"}, expect=400)
    assert "mature balance" in too_much["message"]
    p = api.call("POST", "/payouts", "admin", json=body, expect=201)
    assert (p["state"], p["origin"], p["total_base_units"], p["total_str"]) == ("sent", "manual", 400_000,
                                                                                 "0.00400000")
    assert p["tx_hash"].startswith("dryrun-") and p["recipients"][0]["address"] == ALICE_WALLET
    assert api.call("GET", f"/payouts/{p['id']}", "alice") == p
    assert api.call("GET", f"/payouts/{p['id']}", "bob", expect=404)["code"]
    assert [x["id"] for x in api.call("GET", "/payouts", "alice")] == [p["id"]]
    assert api.call("GET", "/payouts", "bob") == []
    assert api.call("GET", "/payouts", "admin", params={"coin": "LTC"}) == []
    assert [x["id"] for x in api.call("GET", "/payouts", "alice", params={"participant_id": pid})] == [p["id"]]
    summary = api.call("GET", f"/payouts/participant/{pid}/summary", "alice")
    assert (summary["total_payouts"], summary["totals"][0]["paid_base_units"]) == (1, 400_000)
    api.call("GET", f"/payouts/participant/{pid}/summary", "bob", expect=404)
    page = api.client.get(f"/api/v1/miners/{ALICE_WALLET}/payments").json()
    assert page["meta"]["total"] == 1
    paid = page["data"][0]
    assert {k: paid[k] for k in ("id", "amount", "amount_base_units", "tx_hash", "status")} == {
        "id": p["id"], "amount": 0.004, "amount_base_units": 400_000, "tx_hash": p["tx_hash"], "status": "sent"}
    assert paid["timestamp"][:19] == p["updated_at"][:19]
    balances = api.call("GET", f"/miners/{ALICE_WALLET}/balances", None)
    assert (balances[0]["mature_base_units"], balances[0]["paid_base_units"]) == (600_000, 400_000)
    rows = report_rows(api.clickhouse, ReportQuery(addresses=(ALICE_WALLET,), year=NOW.year))
    assert [(r.amount, r.tx_hash) for r in rows] == [(400_000, p["tx_hash"])]


def test_threshold_owner_or_admin_and_used_by_settlement(api: Api) -> None:
    participant(api)
    body = {"coin": "BTC", "amount": "0.02"}
    t = api.call("PUT", f"/miners/{ALICE_WALLET}/threshold", "alice", json=body)
    assert (t["amount_base_units"], t["effective_base_units"]) == (2_000_000, 2_000_000)
    api.call("PUT", f"/miners/{ALICE_WALLET}/threshold", "bob", json=body, expect=404)
    api.call("PUT", f"/miners/{ALICE_WALLET}/threshold", "reader", json=body, expect=403)
    api.call("PUT", f"/miners/{ALICE_WALLET}/threshold", "alice", json={"coin": "BTC", "amount": "1e-3"}, expect=400)
    read = api.call("GET", f"/miners/{ALICE_WALLET}/threshold", "alice")  # read back: one per coin
    assert [(r["coin"], r["amount_str"], r["effective_base_units"], r["effective_str"]) for r in read] == [
        ("BTC", "0.02000000", 2_000_000, "0.02000000")]
    assert api.call("GET", f"/miners/{ALICE_WALLET}/threshold", "admin") == read
    api.call("GET", f"/miners/{ALICE_WALLET}/threshold", "bob", expect=404)
    api.call("GET", f"/miners/{ALICE_WALLET}/threshold", None, expect=401)
    assert api.call("GET", f"/miners/{BOB_WALLET}/threshold", "admin") == []
    job = SettlementJob(api.clickhouse, DryRun(), codes=("BTC",), clock=api.clock)
    assert job.run_once().sent == ()  # 0.01 mature < alice's own 0.02
    low = api.call("PUT", f"/miners/{ALICE_WALLET}/threshold", "admin", json={"coin": "BTC", "amount": "0"})
    assert (low["effective_base_units"], low["effective_str"]) == (100_000, "0.00100000")  # the coin's minimum applies
    assert len(job.run_once().sent) == 1
    assert api.call("GET", f"/miners/{ALICE_WALLET}/balances", None)[0]["mature_base_units"] == 0
    assert api.client.get(f"/api/v1/miners/{BOB_WALLET}/payments").json()["data"] == []
