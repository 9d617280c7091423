"""The wallets: dryrun's stable tx ids, and the bitcoind client against a fake wallet server (real HTTP):
exact decimal amounts, the key in the comment, refusals vs unknown outcomes, finding a send by its key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.config import SettingsError
from schemas.payments import SendFailed, SendUnknown, comment
from sources.wallet import BitcoindWallet, DryRun, PaymentSettings, processor
from tests.support_wallet import fake_wallet


def test_dryrun_same_payout_same_tx() -> None:
    d = DryRun()
    assert d.send("BTC", 8, {"a": 5}, "p1") == d.send("BTC", 8, {"a": 5}, "p1") != d.send("BTC", 8, {"a": 5}, "p2")
    assert d.find("BTC", "p1") is None
    with pytest.raises(SendFailed):
        d.send("BTC", 8, {"a": 0}, "p3")


def test_sendmany_exact_decimals_and_comment() -> None:
    with fake_wallet() as wallet:
        w = BitcoindWallet(wallet.url, user="u", password="p")
        tx = w.send("BTC", 8, {"bc1qa": 1, "bc1qb": 123_456_789_012_345_678}, "btc-00000001-x")
        assert wallet.sends[0]["amounts"] == {"bc1qa": Decimal("0.00000001"),
                                              "bc1qb": Decimal("1234567890.12345678")}
        assert '"bc1qa":0.00000001' in wallet.raw[0] and "E-" not in wallet.raw[0]
        assert wallet.sends[0]["comment"] == comment("btc-00000001-x")
        assert w.find("BTC", "btc-00000001-x") == tx
        assert w.find("BTC", "other") is None
        w.close()


def test_refusal_is_failed_and_unreachable_find_is_unknown() -> None:
    with fake_wallet() as wallet:
        wallet.fail_with = "Insufficient funds"
        w = BitcoindWallet(wallet.url)
        with pytest.raises(SendFailed, match="Insufficient funds"):
            w.send("BTC", 8, {"a": 10}, "p")
        assert wallet.sends == []
        url = wallet.url
    gone = BitcoindWallet(url, timeout_s=1)
    with pytest.raises(SendUnknown):
        gone.find("BTC", "p")
    with pytest.raises(SendFailed):  # connection refused: nothing left the process
        gone.send("BTC", 8, {"a": 10}, "p")


def test_settings() -> None:
    assert isinstance(processor(PaymentSettings()), DryRun)
    assert isinstance(processor(PaymentSettings(processor="bitcoind", wallet_url="http://x/")), BitcoindWallet)
    assert PaymentSettings(coins="btc, ltc").coin_codes == ("BTC", "LTC")
    with pytest.raises(SettingsError, match="PAYMENT_WALLET_URL"):
        PaymentSettings(processor="bitcoind")
    with pytest.raises(SettingsError, match="PAYMENT_PROCESSOR"):
        PaymentSettings(processor="paypal")
