"""The settlement job moves a `sent` payout to `confirmed` once the wallet reports its confirmations, and
never sends or writes ledger rows for it again."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from sinks.payouts import get_payout
from tests.integration.test_payouts import job, seed
from tests.support_wallet import fake_wallet

pytestmark = pytest.mark.integration


def test_sent_payout_becomes_confirmed_at_minconf(clickhouse: Client) -> None:
    seed(clickhouse)
    with fake_wallet() as wallet:
        first = job(clickhouse, wallet).run_once()
        [pid] = first.sent
        assert first.confirmed == ()
        assert job(clickhouse, wallet).run_once().confirmed == ()  # 0 confirmations: still sent
        p = get_payout(clickhouse, pid)
        assert p is not None and p.state == "sent"
        wallet.confirmations = 1
        assert job(clickhouse, wallet).run_once().confirmed == (pid,)
        p = get_payout(clickhouse, pid)
        assert p is not None and p.state == "confirmed" and p.tx_hash == wallet.sends[0]["txid"]
        again = job(clickhouse, wallet).run_once()
        assert again.confirmed == again.sent == () and len(wallet.sends) == 1
        rows = clickhouse.query("SELECT count() FROM ledger FINAL WHERE kind = 'payout'").result_rows
        assert rows[0][0] == 1
