"""The PPS job on a real chDB: accepted shares of a PPS coin -> one credit row per (minute, miner) equal to the
per-share floor sum; a rerun writes nothing new; a minute whose shares are not durable waits; the credits are
mature at once in the balances."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from api.services.balances import BalanceService
from api.services.db import Db
from jobs.pps import PpsJob, pps_key
from schemas.algorithms import Algorithm
from schemas.clock import FixedClock
from schemas.coins import Coin
from sinks.ledger import LedgerWriter

pytestmark = pytest.mark.integration

T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
T0_MS = int(T0.timestamp() * 1000)
A = "bc1qminera0000000000000000000000000000"
B = "bc1qminerb0000000000000000000000000000"
TOPIC = "shares-pps"
COLS = ["ts", "algorithm", "coin", "miner", "worker", "difficulty", "network_difficulty", "status",
        "share_key", "src_topic", "src_partition", "src_offset"]
BTC = Coin("BTC", Algorithm.SHA256D, 8, 2, 0, 100, "pps")  # 1 % fee
LTC = Coin("LTC", Algorithm.SCRYPT, 8, 2, 0, 100, "pplns")  # not PPS: never credited here


def share(seconds: float, miner: str, d: float, key: int, status: str = "accepted", coin: str = "BTC") -> list[Any]:
    return [T0 + dt.timedelta(seconds=seconds), "sha256d", coin, miner, "w", d, 1000.0, status, key, TOPIC, 0, key]


def job(client: Client, **kw: Any) -> PpsJob:
    return PpsJob(client, TOPIC, coins=[BTC, LTC], subsidy=lambda code: 1_000_000,
                  clock=FixedClock(T0 + dt.timedelta(hours=1)), **kw)


def ledger(client: Client) -> dict[str, int]:
    return {str(k): int(v) for k, v in client.query("SELECT entry_key, amount FROM ledger FINAL").result_rows}


def test_minutes_are_credited_once_and_only_when_durable(clickhouse: Client) -> None:
    clickhouse.insert("shares", [
        share(1, A, 100, 1), share(2, A, 50, 2), share(3, B, 10, 3), share(4, B, 10, 4, status="stale"),
        share(5, A, 10, 5, coin="LTC"), share(61, B, 1, 6), share(130, A, 1, 7),  # minute 2: nothing after it yet
    ], column_names=COLS)
    run = job(clickhouse).run_once()
    assert run.minutes == {"BTC": 2}
    # (1e6 - 1 %) = 990000 per network difficulty: 100/1000 -> 99000, 50/1000 -> 49500, 10/1000 -> 9900, 1/1000 -> 990
    assert ledger(clickhouse) == {pps_key("BTC", T0_MS, A): 148_500, pps_key("BTC", T0_MS, B): 9_900,
                                  pps_key("BTC", T0_MS + 60_000, B): 990}
    assert job(clickhouse).run_once().rows == 0  # minute 2 still waits; nothing rewritten
    assert len(ledger(clickhouse)) == 3
    clickhouse.insert("shares", [share(200, B, 1, 8)], column_names=COLS)
    assert job(clickhouse).run_once().minutes == {"BTC": 1}
    assert ledger(clickhouse)[pps_key("BTC", T0_MS + 120_000, A)] == 990
    # a rerun of an already credited period (the watermark lost) writes identical rows that collapse
    again = job(clickhouse)._credits(BTC, T0_MS, T0_MS + 60_000)
    assert len(again) == 2
    LedgerWriter(clickhouse).write(again, T0_MS + 7_200_000)
    assert len(ledger(clickhouse)) == 4

    balances = asyncio.run(BalanceService(Db(clickhouse), FixedClock(T0)).balances(A))
    assert [(b.coin, b.pending_base_units, b.mature_base_units) for b in balances] == [("BTC", 0, 149_490)]


def test_lag_zero_settles_the_last_minute_after_settle_s(clickhouse: Client) -> None:
    clickhouse.insert("shares", [share(1, A, 1000, 1)], column_names=COLS)
    assert job(clickhouse).run_once().rows == 0
    run = job(clickhouse, shares_caught_up=lambda: True, settle_s=10).run_once()
    assert run.minutes == {"BTC": 1} and ledger(clickhouse) == {pps_key("BTC", T0_MS, A): 990_000}
