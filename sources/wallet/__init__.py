"""Payment processors (`schemas.payments.PaymentProcessor`): `dryrun` (records payouts, sends nothing) and a
bitcoind-compatible wallet (`sendmany`). `processor(settings)` picks the one PAYMENT_PROCESSOR names."""

from __future__ import annotations

from schemas.payments import PaymentProcessor
from sources.wallet.bitcoind import BitcoindWallet
from sources.wallet.dryrun import DryRun
from sources.wallet.settings import PaymentSettings


def processor(settings: PaymentSettings) -> PaymentProcessor:
    if settings.processor == "bitcoind":
        return BitcoindWallet(settings.wallet_url, user=settings.wallet_user, password=settings.wallet_password,
                              minconf=settings.minconf)
    return DryRun()


__all__ = ["BitcoindWallet", "DryRun", "PaymentSettings", "processor"]
