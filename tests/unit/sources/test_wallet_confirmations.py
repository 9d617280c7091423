"""`BitcoindWallet.confirmed` against the fake wallet (real HTTP): a send is confirmed once `gettransaction`
reports PAYMENT_MINCONF (at least 1) confirmations; an unknown tx is an unknown outcome, never a confirmation."""

from __future__ import annotations

import pytest

from jobs.settlement import ConfirmingProcessor
from schemas.payments import SendUnknown
from sources.wallet import BitcoindWallet, DryRun
from tests.support_wallet import fake_wallet


def test_confirmed_after_minconf_confirmations() -> None:
    with fake_wallet() as wallet:
        w = BitcoindWallet(wallet.url, minconf=3)
        tx = w.send("BTC", 8, {"bc1qa": 5}, "p1")
        for confirmations, expected in ((0, False), (2, False), (3, True), (10, True)):
            wallet.confirmations = confirmations
            assert w.confirmed("BTC", tx) is expected
        assert '"method":"gettransaction"' in wallet.raw[-1] and tx in wallet.raw[-1]
        with pytest.raises(SendUnknown, match="gettransaction"):
            w.confirmed("BTC", "00" * 32)
        w.close()


def test_minconf_zero_still_needs_one_confirmation() -> None:
    with fake_wallet() as wallet:
        w = BitcoindWallet(wallet.url, minconf=0)
        tx = w.send("BTC", 8, {"bc1qa": 5}, "p1")
        assert w.confirmed("BTC", tx) is False
        wallet.confirmations = 1
        assert w.confirmed("BTC", tx) is True
        w.close()


def test_only_the_bitcoind_wallet_confirms() -> None:
    assert isinstance(BitcoindWallet("http://127.0.0.1:9/"), ConfirmingProcessor)
    assert not isinstance(DryRun(), ConfirmingProcessor)
