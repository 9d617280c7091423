"""The credits job and the ledger on a real chDB: found block + shares -> credit/fee/remainder rows that sum to
the reward exactly and match `split_block`; a second run writes nothing new; the durability rule holds a block
back; an orphan reverses every row; balances (pending, mature, paid) and the ledger routes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.errors import InvalidRequest
from api.health import ComponentHealth, HealthReport
from api.services.balances import AdjustmentRequest, BalanceService
from api.services.db import Db
from jobs.credits import CreditsJob
from kernels.rewards import ShareWindow, split_block
from schemas.algorithms import Algorithm
from schemas.clock import FixedClock
from schemas.coins import Coin
from schemas.rows import BLOCK_COLUMNS
from sinks.ledger import LedgerEntry, LedgerWriter

pytestmark = pytest.mark.integration

T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(second=0, microsecond=0)  # within the shares TTL
A = "bc1qminera0000000000000000000000000000"
B = "bc1qminerb0000000000000000000000000000"
TOPIC = "shares-test"
HASH = "ab" * 32
SHARE_COLS = ["ts", "algorithm", "coin", "miner", "worker", "difficulty", "network_difficulty", "status",
              "share_key", "src_topic", "src_partition", "src_offset"]


def no_fee(scheme: str = "pplns") -> Any:
    return lambda code: Coin("BTC", Algorithm.SHA256D, 8, 101, 100_000, 0, scheme)


def share(seconds: int, miner: str, d: float, key: int, partition: int = 0, status: str = "accepted") -> list[Any]:
    return [T0 + dt.timedelta(seconds=seconds), "sha256d", "BTC", miner, "w", d, 1000.0, status, key, TOPIC,
            partition, key]


def block_row(status: str, minutes: int, reward: int = 618_750_000, hash_: str = HASH) -> list[Any]:
    at = T0 + dt.timedelta(minutes=minutes)
    return [hash_, 100, T0, "sha256d", "BTC", A, "w", reward, 1000.0, 900.0, status, "j", "", at]


def job(client: Client, **kw: Any) -> CreditsJob:
    kw.setdefault("coins", no_fee())
    return CreditsJob(client, TOPIC, clock=FixedClock(T0 + dt.timedelta(hours=1)), **kw)


def ledger(client: Client) -> dict[str, int]:
    return {str(k): int(v) for k, v in client.query("SELECT entry_key, amount FROM ledger FINAL").result_rows}


@pytest.fixture()
def found(clickhouse: Client) -> Client:
    """DOMAIN.md's hand-worked example: newest first A 900, B 800, A 600 (cut to 300), then older shares;
    a rejected share and a share after the block (it shows partition 0 is written past the block)."""
    clickhouse.insert("shares", [
        share(0, A, 900, 10), share(-1, B, 800, 9), share(-2, B, 50, 8, status="low-difficulty"),
        share(-3, A, 600, 7), share(-4, B, 500, 6), share(-5, A, 400, 5), share(5, B, 10, 11),
    ], column_names=SHARE_COLS)
    clickhouse.insert("blocks", [block_row("found", 0)], column_names=BLOCK_COLUMNS)
    return clickhouse


def test_pplns_credits_sum_to_the_reward_and_match_the_split(found: Client) -> None:
    run = job(found).run_once()
    assert run.settled == (HASH,)
    rows = ledger(found)
    assert rows == {f"credit:{HASH}:{A}": 371_250_000, f"credit:{HASH}:{B}": 247_500_000, f"fee:{HASH}": 0}
    assert sum(rows.values()) == 618_750_000
    window = ShareWindow(owner=np.array([0, 1, 0], np.int64), difficulty=np.array([900.0, 800.0, 600.0]),
                         network_difficulty=np.full(3, 1000.0), owners=(A, B))
    expected = split_block("pplns", 618_750_000, 0, window)
    assert {k.rsplit(":", 1)[1]: v for k, v in rows.items() if k.startswith("credit:")} == expected.credits


def test_a_second_run_changes_nothing(found: Client) -> None:
    job(found).run_once()
    before = found.query("SELECT count() FROM ledger").result_rows[0][0]
    again = job(found).run_once()
    assert again.settled == () and again.reversals == 0
    assert found.query("SELECT count() FROM ledger").result_rows[0][0] == before == 3
    # a retried INSERT of the same rows (same dedup token) is a no-op even before FINAL
    entries = [LedgerEntry(f"fee:{HASH}", 0, "BTC", "", "fee", 0, HASH)]
    LedgerWriter(found).write(entries, 1)
    LedgerWriter(found).write(entries, 1)
    assert found.query("SELECT count() FROM ledger FINAL").result_rows[0][0] == 3


def test_fee_and_unfilled_window_remainder(clickhouse: Client) -> None:
    clickhouse.insert("shares", [share(0, A, 500, 1), share(1, A, 1, 2)], column_names=SHARE_COLS)
    clickhouse.insert("blocks", [block_row("found", 0, reward=1_000_000_000)], column_names=BLOCK_COLUMNS)
    coins = lambda code: Coin("BTC", Algorithm.SHA256D, 8, 101, 100_000, 200, "pplns")  # noqa: E731  2 %
    job(clickhouse, coins=coins).run_once()
    rows = ledger(clickhouse)
    # score 0.5 of a window of 2: a quarter of (1 - f)·B to A, the rest recorded as the pool's remainder
    assert rows[f"fee:{HASH}"] == 20_000_000
    assert rows[f"credit:{HASH}:{A}"] == 245_000_000
    assert rows[f"remainder:{HASH}"] == 735_000_000
    assert sum(rows.values()) == 1_000_000_000


def test_a_block_waits_until_its_shares_are_durable(clickhouse: Client) -> None:
    clickhouse.insert("shares", [share(0, A, 900, 1, partition=0), share(9, A, 1, 2, partition=0),
                                 share(-30, B, 800, 3, partition=1)], column_names=SHARE_COLS)
    clickhouse.insert("blocks", [block_row("found", 0)], column_names=BLOCK_COLUMNS)
    # partition 1 has written nothing at or after the block's time yet
    assert job(clickhouse).run_once().waiting == (HASH,)
    assert ledger(clickhouse) == {}
    # the pipeline's lag on the shares topic is 0 and the block is old enough: nothing can still be in flight
    assert job(clickhouse, shares_caught_up=lambda: True).run_once().settled == (HASH,)
    assert sum(ledger(clickhouse).values()) == 618_750_000


def test_solo_pays_the_finder(clickhouse: Client) -> None:
    clickhouse.insert("blocks", [block_row("found", 0)], column_names=BLOCK_COLUMNS)
    job(clickhouse, coins=no_fee("solo")).run_once()
    assert ledger(clickhouse) == {f"credit:{HASH}:{A}": 618_750_000, f"fee:{HASH}": 0}


def test_orphan_reverses_every_row_and_balances_return_to_zero(found: Client) -> None:
    job(found).run_once()
    found.insert("blocks", [block_row("orphaned", 30)], column_names=BLOCK_COLUMNS)
    run = job(found).run_once()
    assert run.reversals == 3  # two credits and the fee row
    rows = ledger(found)
    assert rows[f"reversal:{HASH}:{A}"] == -371_250_000 and rows[f"reversal:{HASH}:#fee"] == 0
    assert sum(rows.values()) == 0
    assert job(found).run_once().reversals == 0  # nothing reversed twice
    assert len(ledger(found)) == 6


class Probe:
    async def check(self) -> HealthReport:
        up = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=up, clickhouse=up, consumer_lag=[])


@pytest.fixture()
def api(found: Client) -> Iterator[TestClient[Any]]:
    deps = ApiDeps(clickhouse=found, clock=FixedClock(T0), settings=ApiSettings(), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


def balances(api: TestClient[Any], address: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/miners/{address}/balances")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    assert len(found) == 1
    return found[0]


def test_balances_pending_then_mature_then_orphan(found: Client, api: TestClient[Any]) -> None:
    assert api.get(f"/api/v1/miners/{A}/balances").json()["data"] == []
    job(found).run_once()
    a = balances(api, A)
    assert (a["pending_base_units"], a["mature_base_units"], a["paid_base_units"]) == (371_250_000, 0, 0)
    assert a["pending_str"] == "3.71250000"
    found.insert("blocks", [block_row("confirmed", 20)], column_names=BLOCK_COLUMNS)
    a = balances(api, A)
    assert (a["pending_base_units"], a["mature_base_units"]) == (0, 371_250_000)
    miner = api.get(f"/api/v1/miners/{A}").json()["data"]
    assert (miner["balance_base_units"], miner["balance_str"], miner["balance"]) == (371_250_000, "3.71250000", 3.7125)
    assert (miner["paid_base_units"], miner["pending_base_units"], miner["currency"]) == (0, 0, "BTC")
    found.insert("blocks", [block_row("orphaned", 40)], column_names=BLOCK_COLUMNS)
    job(found).run_once()
    b = balances(api, B)
    assert (b["pending_base_units"], b["mature_base_units"], b["paid_base_units"]) == (0, 0, 0)


def test_block_route_lists_its_credits(found: Client, api: TestClient[Any]) -> None:
    job(found).run_once()
    response = api.get(f"/api/v1/blocks/{HASH}")
    assert response.status_code == 200, response.text
    block = response.json()["data"]
    assert (block["reward_base_units"], block["status"], block["currency"]) == (618_750_000, "found", "BTC")
    assert {(c["kind"], c["address"], c["amount_base_units"]) for c in block["credits"]} == {
        ("credit", A, 371_250_000), ("credit", B, 247_500_000), ("fee", "", 0)}
    assert api.get(f"/api/v1/blocks/{'cd' * 32}").status_code == 404


def test_admin_adjustment_is_exact_and_audited(found: Client) -> None:
    asyncio.run(adjust_twice(found))
    audited = found.query("SELECT actor, action FROM audit_log WHERE action = 'ledger.adjustment'").result_rows
    assert [tuple(r) for r in audited] == [("admin-1", "ledger.adjustment")] * 2


async def adjust_twice(found: Client) -> None:
    service = BalanceService(Db(found), FixedClock(T0))
    request = AdjustmentRequest(address=A, coin="btc", amount="-0.00000123", reason="fix", id="op-1")
    out = await service.adjust(request, "admin-1", "127.0.0.1")
    assert (out.entry_key, out.amount_base_units, out.amount_str) == ("adjustment:op-1", -123, "-0.00000123")
    await service.adjust(request, "admin-1", "127.0.0.1")
    (bal,) = await service.balances(A)
    assert bal.mature_base_units == -123  # the same id twice: one row
    with pytest.raises(InvalidRequest):
        await service.adjust(AdjustmentRequest(address=A, coin="BTC", amount="0.000000001", reason="x"), "a", "")
