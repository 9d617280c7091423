"""Fee recipients on the real ledger (chDB): the credits job splits the block fee over them, the rows sum to
the reward exactly, they mature with the block into payable balances, and an orphan reverses every one
(a recipient who also mined the block keeps two distinct reversals)."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from schemas.algorithms import Algorithm
from schemas.coins import Coin
from schemas.rows import BLOCK_COLUMNS
from sinks.payouts import mature_balances
from tests.integration.test_ledger import HASH, SHARE_COLS, block_row, job, ledger, share

pytestmark = pytest.mark.integration

A = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"  # miner and fee recipient
C = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"  # fee recipient only


def coins(code: str) -> Coin:
    return Coin("BTC", Algorithm.SHA256D, 8, 101, 0, 300, "pplns", ((A, 1), (C, 2)))  # 3 % fee


def test_fee_is_split_over_recipients_and_reversed_on_orphan(clickhouse: Client) -> None:
    clickhouse.insert("shares", [share(0, A, 2000, 1), share(5, A, 1, 2)], column_names=SHARE_COLS)
    clickhouse.insert("blocks", [block_row("found", 0, reward=1_000_000_001)], column_names=BLOCK_COLUMNS)
    job(clickhouse, coins=coins).run_once()
    rows = ledger(clickhouse)
    fee = 1_000_000_001 * 300 // 10_000
    assert rows[f"fee:{HASH}"] == 0
    assert rows[f"fee:{HASH}:{A}"] + rows[f"fee:{HASH}:{C}"] == fee
    assert rows[f"fee:{HASH}:{C}"] == 2 * fee // 3 + (1 if fee % 3 == 2 else 0)
    assert sum(rows.values()) == 1_000_000_001
    clickhouse.insert("blocks", [block_row("confirmed", 10, reward=1_000_000_001)], column_names=BLOCK_COLUMNS)
    mature = mature_balances(clickhouse, "BTC")
    assert mature[C] == rows[f"fee:{HASH}:{C}"]
    assert mature[A] == rows[f"fee:{HASH}:{A}"] + rows[f"credit:{HASH}:{A}"]
    clickhouse.insert("blocks", [block_row("orphaned", 30, reward=1_000_000_001)], column_names=BLOCK_COLUMNS)
    assert job(clickhouse, coins=coins).run_once().reversals == 4
    rows = ledger(clickhouse)
    assert rows[f"reversal:{HASH}:#fee:{A}"] == -rows[f"fee:{HASH}:{A}"] and rows[f"reversal:{HASH}:{A}"] < 0
    assert sum(rows.values()) == 0
    assert job(clickhouse, coins=coins).run_once().reversals == 0
