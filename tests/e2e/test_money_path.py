"""End to end, issue 9's "Done when": `poolstream run`, `poolstream simulate --network-difficulty …` finds blocks
on a simulated chain; the credits job splits them (PPLNS), the maturity job confirms or orphans them, the
balances appear in `/api/v1/miners/{address}`, and every block's ledger rows sum to its reward exactly
(an orphan's to 0: its credits are reversed). The second test also pays: the settlement job (dryrun) pays
every mature balance, `/payouts` and `/miners/{a}/payments` list the payouts, and the Koinly tax report sums
back to the ledger's payout rows to the base unit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.coins import parse_decimal
from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

MONEY_ENV = {"COIN_BTC_MATURITY": "2", "CHAIN_SOURCE": "simulated", "MATURITY_INTERVAL_S": "1",
             "CREDITS_INTERVAL_S": "1", "COIN_BTC_PAYOUT_MINIMUM": "1000"}  # no payout: balances stay put


ADMIN, PASSWORD = "money-admin", "money-admin-password-9"
PAYING_ENV = {**MONEY_ENV, "COIN_BTC_PAYOUT_MINIMUM": "0.00000001", "PAYMENT_PROCESSOR": "dryrun",
              "SETTLEMENT_INTERVAL_S": "1", "API_ADMIN_USER": ADMIN, "API_ADMIN_PASSWORD": PASSWORD}
SIMULATION = ("--miners", "3", "--workers", "2", "--duration", "120", "--seed", "9009",
              "--network-difficulty", "2000000", "--orphan-rate", "0.2", "--chain-block-time", "0.5")


@pytest.fixture()
def system(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.env.update(MONEY_ENV)
    s.start()
    try:
        yield s
    finally:
        s.close()


def block_settled(system: System, block: dict[str, Any]) -> bool:
    found = system.data(f"/api/v1/blocks/{block['hash']}")
    if found["status"] != ("orphaned" if block["orphan"] else "confirmed"):
        return False
    kinds = {c["kind"] for c in found["credits"]}
    return "fee" in kinds and (not block["orphan"] or "reversal" in kinds)


@pytest.mark.slow  # the paying test below checks the same blocks and sums; this one adds balances before payout
def test_blocks_are_credited_mature_and_sum_to_their_rewards(system: System) -> None:
    blocks = system.simulate(*SIMULATION)["blocks"]
    assert len(blocks) >= 2, f"the fleet found {len(blocks)} block(s): lower --network-difficulty"
    for block in blocks:
        system.wait_for(partial(block_settled, system, block), 45, f"block {block['hash'][:12]} settled")

    mature: dict[str, int] = {}
    for block in blocks:
        found = system.data(f"/api/v1/blocks/{block['hash']}")
        total = sum(int(c["amount_base_units"]) for c in found["credits"])
        assert found["reward_base_units"] == block["reward"]
        assert total == (0 if block["orphan"] else block["reward"]), (block, found["credits"])
        if not block["orphan"]:
            for c in found["credits"]:
                if c["kind"] == "credit":
                    mature[c["address"]] = mature.get(c["address"], 0) + int(c["amount_base_units"])
    assert mature and sum(mature.values()) > 0

    for address, units in mature.items():
        def shows(a: str = address, u: int = units) -> bool:
            miner = system.data(f"/api/v1/miners/{a}")
            return bool(miner["balance_base_units"] == u and miner["balance"] > 0)
        system.wait_for(shows, 30, f"balance of {address}")
        balances = system.data(f"/api/v1/miners/{address}/balances")
        assert [(b["coin"], b["mature_base_units"], b["pending_base_units"]) for b in balances] == [("BTC", units, 0)]
        earnings = system.data(f"/api/v1/miners/{address}/earnings?days=2")
        assert sum(int(e["credited_base_units"]) for e in earnings) == units
    metrics = system.get("/metrics").text
    assert 'poolstream_blocks{status="confirmed"}' in metrics


@pytest.fixture()
def paying(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.env.update(PAYING_ENV)
    s.start()
    try:
        yield s
    finally:
        s.close()


def credited(system: System, blocks: list[dict[str, Any]]) -> dict[str, int]:
    """Σ credits of the confirmed blocks per address, once every block is settled."""
    for block in blocks:
        system.wait_for(partial(block_settled, system, block), 45, f"block {block['hash'][:12]} settled")
    out: dict[str, int] = {}
    for block in blocks:
        found = system.data(f"/api/v1/blocks/{block['hash']}")
        block_rows = [c for c in found["credits"] if c["kind"] != "payout"]
        assert found["reward_base_units"] == block["reward"]
        total = sum(int(c["amount_base_units"]) for c in block_rows)
        assert total == (0 if block["orphan"] else block["reward"]), (block, block_rows)  # exact, orphans reversed
        if not block["orphan"]:
            for c in block_rows:
                if c["kind"] == "credit":
                    out[c["address"]] = out.get(c["address"], 0) + int(c["amount_base_units"])
    return out


def test_mature_balances_are_paid_listed_and_reported_exactly(paying: System) -> None:
    system = paying
    blocks = system.simulate(*SIMULATION)["blocks"]
    assert len(blocks) >= 2, f"the fleet found {len(blocks)} block(s): lower --network-difficulty"
    mature = credited(system, blocks)
    assert mature and sum(mature.values()) > 0
    for address, units in mature.items():  # minimum 1 unit: every mature balance is paid in full
        def paid_in_full(a: str = address, u: int = units) -> bool:
            miner = system.data(f"/api/v1/miners/{a}")
            return bool(miner["paid_base_units"] == u and miner["balance_base_units"] == 0 and miner["paid"] > 0)
        system.wait_for(paid_in_full, 30, f"payout of {address}")

    base = f"http://127.0.0.1:{system.api_port}/api/v1"
    issued = httpx.post(f"{base}/auth/api-key", json={"username": ADMIN, "password": PASSWORD}, timeout=10)
    assert issued.status_code == 200, issued.text
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {issued.json()['data']['api_key']}"},
                       timeout=10)
    listed = api.get("/payouts?limit=100")
    assert listed.status_code == 200, listed.text
    payouts = listed.json()["data"]
    assert payouts and {p["state"] for p in payouts} <= {"sent", "confirmed"}
    paid_to: dict[str, int] = {}
    for p in payouts:
        assert p["total_base_units"] == sum(r["amount_base_units"] for r in p["recipients"])
        for r in p["recipients"]:
            paid_to[r["address"]] = paid_to.get(r["address"], 0) + r["amount_base_units"]
    assert paid_to == mature

    year = dt.datetime.now(dt.UTC).year
    reported: dict[str, int] = {}
    for address, units in mature.items():
        payments = system.data(f"/api/v1/miners/{address}/payments?limit=100")
        assert payments and sum(int(p["amount_base_units"]) for p in payments) == units
        assert all(p["tx_hash"] for p in payments)
        csv_text = api.get(f"/payouts/export/tax-report?address={address}&year={year}&format=koinly")
        assert csv_text.status_code == 200, csv_text.text
        rows = list(csv.DictReader(io.StringIO(csv_text.text)))
        assert rows and all(r["Received Currency"] == "BTC" and r["Label"] == "mining" for r in rows)
        reported[address] = sum(parse_decimal(r["Received Amount"], 8) for r in rows)
    api.close()

    system.stop()  # chDB is one process per data directory: read the ledger once poolstream is down
    for address, units in reported.items():
        [ledger_paid] = system.clickhouse(
            f"SELECT -sum(amount) FROM ledger FINAL WHERE kind = 'payout' AND address = '{address}'")
        assert int(ledger_paid) == units == mature[address]
