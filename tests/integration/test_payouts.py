"""Payouts on a real chDB with a fake bitcoind wallet on loopback (real HTTP, counting sends): a mature balance
is paid once with its ledger rows; a refused send keeps the balance; a crash after the send is reconciled by
the key in the wallet and nothing is paid twice; below-threshold balances wait."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client

from api.services.balances import BalanceService
from api.services.db import Db
from jobs.settlement import SettlementJob
from schemas.algorithms import Algorithm
from schemas.clock import FixedClock
from schemas.coins import Coin
from schemas.rows import BLOCK_COLUMNS
from sinks.ledger import LedgerEntry, LedgerWriter
from sinks.payouts import get_payout, planned
from sources.wallet import BitcoindWallet
from tests.support_wallet import FakeWallet, fake_wallet

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
A = "bc1qpayeea000000000000000000000000000000"
B = "bc1qpayeeb000000000000000000000000000000"
C = "bc1qpayeec000000000000000000000000000000"
HASH = "cd" * 32
MIN = 100_000


def btc(code: str) -> Coin:
    return Coin("BTC", Algorithm.SHA256D, 8, 101, MIN, 100, "pplns")


def seed(client: Client) -> None:
    """A: a confirmed credit of 250_000 + an adjustment of 5; B: 50_000 (below the minimum); C: a credit of a
    block that is not confirmed yet (pending, not mature)."""
    ts = int(T0.timestamp() * 1000)
    LedgerWriter(client).write([
        LedgerEntry(f"credit:{HASH}:{A}", ts, "BTC", A, "credit", 250_000, HASH),
        LedgerEntry("adjustment:a1", ts, "BTC", A, "adjustment", 5),
        LedgerEntry("adjustment:b1", ts, "BTC", B, "adjustment", 50_000),
        LedgerEntry(f"credit:{'ef' * 32}:{C}", ts, "BTC", C, "credit", 900_000, "ef" * 32),
    ], ts)
    client.insert("blocks", [[HASH, 100, T0, "sha256d", "BTC", A, "w", 250_000, 1.0, 1.0, status, "j", "", T0]
                             for status in ("found", "confirmed")], column_names=BLOCK_COLUMNS)


def job(client: Client, wallet: FakeWallet | object, **kw: object) -> SettlementJob:
    proc = BitcoindWallet(wallet.url) if isinstance(wallet, FakeWallet) else wallet
    return SettlementJob(client, proc, coins=btc, codes=("BTC",), clock=FixedClock(T0),  # type: ignore[arg-type]
                         **kw)  # type: ignore[arg-type]


def balance(client: Client, address: str) -> tuple[int, int, int]:
    found = asyncio.run(BalanceService(Db(client), FixedClock(T0)).balances(address))
    return (found[0].pending_base_units, found[0].mature_base_units, found[0].paid_base_units) if found else (0, 0, 0)


def test_mature_balance_paid_once_with_ledger_rows(clickhouse: Client) -> None:
    seed(clickhouse)
    with fake_wallet() as wallet:
        run = job(clickhouse, wallet).run_once()
        assert len(run.sent) == 1 and run.failed == run.unknown == ()
        assert len(wallet.sends) == 1 and wallet.sends[0]["amounts"] == {A: Decimal("0.00250005")}
        p = get_payout(clickhouse, run.sent[0])
        assert p is not None and p.state == "sent" and p.tx_hash == wallet.sends[0]["txid"]
        assert wallet.sends[0]["comment"] == f"poolstream:{p.payout_id}"
        rows = clickhouse.query("SELECT entry_key, amount FROM ledger FINAL WHERE kind = 'payout'").result_rows
        assert rows == [(f"payout:{p.payout_id}:{A}", -250_005)]
        assert balance(clickhouse, A) == (0, 0, 250_005)
        assert balance(clickhouse, B) == (0, 50_000, 0)  # below the minimum: kept
        assert balance(clickhouse, C)[:2] == (900_000, 0)  # pending: not paid
        again = job(clickhouse, wallet).run_once()
        assert again.sent == again.reconciled == () and len(wallet.sends) == 1


def test_refused_send_keeps_the_balance_then_a_new_payout_pays(clickhouse: Client) -> None:
    seed(clickhouse)
    with fake_wallet() as wallet:
        wallet.fail_with = "Insufficient funds"
        run = job(clickhouse, wallet).run_once()
        assert len(run.failed) == 1 and wallet.sends == []
        p = get_payout(clickhouse, run.failed[0])
        assert p is not None and p.state == "failed" and "Insufficient funds" in p.error
        assert balance(clickhouse, A) == (0, 250_005, 0)
        wallet.fail_with = ""
        retry = job(clickhouse, wallet).run_once()
        assert len(retry.sent) == 1 and retry.sent[0] != run.failed[0] and len(wallet.sends) == 1
        assert balance(clickhouse, A) == (0, 0, 250_005)


class CrashAfterSend:
    """The wallet sends, then the process 'dies' before the ledger rows are written."""

    name = "crash"

    def __init__(self, inner: BitcoindWallet) -> None:
        self.inner = inner

    def send(self, coin: str, decimals: int, recipients: Mapping[str, int], payout_id: str) -> str:
        self.inner.send(coin, decimals, recipients, payout_id)
        raise SystemExit("killed after send")

    def find(self, coin: str, payout_id: str) -> str | None:
        return self.inner.find(coin, payout_id)


def test_crash_after_send_is_reconciled_never_twice(clickhouse: Client) -> None:
    seed(clickhouse)
    with fake_wallet() as wallet:
        with pytest.raises(SystemExit):
            job(clickhouse, CrashAfterSend(BitcoindWallet(wallet.url))).run_once()
        assert len(wallet.sends) == 1 and len(planned(clickhouse)) == 1
        assert balance(clickhouse, A) == (0, 250_005, 0)  # the ledger does not know yet
        restarted = job(clickhouse, wallet).run_once()
        assert len(restarted.reconciled) == 1 and restarted.sent == ()
        assert len(wallet.sends) == 1  # nothing sent twice
        assert balance(clickhouse, A) == (0, 0, 250_005) and planned(clickhouse) == []
        p = get_payout(clickhouse, restarted.reconciled[0])
        assert p is not None and p.state == "sent" and p.tx_hash == wallet.sends[0]["txid"]


def test_planned_but_never_sent_is_resent_with_the_same_key(clickhouse: Client) -> None:
    seed(clickhouse)

    class CrashBeforeSend(CrashAfterSend):
        def send(self, coin: str, decimals: int, recipients: Mapping[str, int], payout_id: str) -> str:
            raise SystemExit("killed before send")

    with fake_wallet() as wallet:
        with pytest.raises(SystemExit):
            job(clickhouse, CrashBeforeSend(BitcoindWallet(wallet.url))).run_once()
        key = planned(clickhouse)[0].payout_id
        run = job(clickhouse, wallet).run_once()
        assert run.sent == (key,) and len(wallet.sends) == 1 and wallet.sends[0]["comment"] == f"poolstream:{key}"
        assert balance(clickhouse, A) == (0, 0, 250_005)


def test_own_threshold_and_manual_payout(clickhouse: Client) -> None:
    seed(clickhouse)
    clickhouse.insert("payout_thresholds", [[A, "BTC", 300_000, "me", T0]],
                      column_names=["address", "coin", "amount", "updated_by", "updated_at"])
    with fake_wallet() as wallet:
        assert job(clickhouse, wallet).run_once().sent == ()  # 250_005 < A's own 300_000
        j = job(clickhouse, wallet)
        with pytest.raises(ValueError, match="mature balance"):
            j.pay("BTC", B, 50_001)
        p = j.pay("BTC", B, 20_000)
        assert p.state == "sent" and p.origin == "manual" and len(wallet.sends) == 1
        assert balance(clickhouse, B) == (0, 30_000, 20_000)
