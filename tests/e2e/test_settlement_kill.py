"""kill -9 during settlement pays nothing twice (issue 9): `poolstream run` pays a seeded mature balance
through the bitcoind processor to the fake wallet, which records the `sendmany` and holds its answer; the test
kills poolstream while the send is in flight, restarts it, and the next settlement run reconciles the planned
payout against the wallet (its comment carries the payout id) instead of sending again: the wallet saw
exactly one send, and the ledger holds the payout's rows exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import System
from tests.support_wallet import fake_wallet

pytestmark = pytest.mark.e2e

A = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
B = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
CREDITS = {A: 50_000_000, B: 30_000_001}
HASH = "5e" * 32

SEED = """
import datetime as dt, json, os, sys
from schemas.rows import BLOCK_COLUMNS
from sinks.client import ClickHouseSettings, connect
from sinks.ledger import LedgerEntry, LedgerWriter
from sinks.migrate import migrate
dsn, block_hash, credits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = connect(ClickHouseSettings(dsn=dsn))
migrate(c)
at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
ms = int(at.timestamp() * 1000)
reward = sum(credits.values())
row = [block_hash, 800_000, at, "sha256d", "BTC", min(credits), "w", reward, 1e12, 2e12]
c.insert("blocks", [row + ["found", "j", "", at], row + ["confirmed", "j", "", at + dt.timedelta(minutes=5)]],
         column_names=BLOCK_COLUMNS)
entries = [LedgerEntry(f"credit:{block_hash}:{a}", ms, "BTC", a, "credit", v, block_hash, reason="seed")
           for a, v in sorted(credits.items())]
entries.append(LedgerEntry(f"fee:{block_hash}", ms, "BTC", "", "fee", 0, block_hash, reason="seed"))
LedgerWriter(c).write(entries, ms)
c.close()
os._exit(0)
"""


def seed(system: System) -> None:
    """A confirmed block and its credits, written before poolstream starts (one chDB process per directory)."""
    done = subprocess.run([sys.executable, "-c", SEED, system.env["CLICKHOUSE_DSN"], HASH, json.dumps(CREDITS)],
                          cwd=system.workdir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_kill_9_mid_send_then_restart_pays_exactly_once(tmp_path: Path) -> None:
    with fake_wallet() as wallet:
        wallet.delay_s = 60.0
        system = System(tmp_path)
        system.env.update({"PAYMENT_PROCESSOR": "bitcoind", "PAYMENT_WALLET_URL": wallet.url,
                           "SETTLEMENT_INTERVAL_S": "1", "COIN_BTC_PAYOUT_MINIMUM": "0.00000001",
                           "CHAIN_SOURCE": "none"})
        try:
            seed(system)
            system.start()
            assert wallet.recorded.wait(60), "the settlement never sent"
            system.kill()  # the wallet has the send; poolstream never got the answer
            wallet.release.set()
            assert len(wallet.sends) == 1
            held = wallet.sends[0]
            assert held["comment"].startswith("poolstream:")  # the payout id travels with the send
            assert {a: str(v) for a, v in held["amounts"].items()} == {A: "0.50000000", B: "0.30000001"}

            system.start()

            def paid() -> bool:
                balances = {a: system.data(f"/api/v1/miners/{a}/balances") for a in CREDITS}
                return all([(b["coin"], b["paid_base_units"], b["mature_base_units"]) for b in got]
                           == [("BTC", CREDITS[a], 0)] for a, got in balances.items())
            system.wait_for(paid, 30, "the reconciled payout in the balances")
            time.sleep(3)  # more settlement runs (every 1 s): none may send again
            assert len(wallet.sends) == 1 and wallet.sends_for(held["comment"]) == 1
            system.stop()
            count, total, keys, states = system.clickhouse(
                "SELECT count() FROM ledger FINAL WHERE kind = 'payout'",
                "SELECT sum(amount) FROM ledger FINAL WHERE kind = 'payout'",
                "SELECT uniqExact(entry_key) FROM ledger WHERE kind = 'payout'",
                "SELECT groupArray(state) FROM payouts FINAL")
            assert (count, int(total), keys) == (2, -sum(CREDITS.values()), 2)
            assert states == ["sent"]
        finally:
            wallet.release.set()
            system.close()
