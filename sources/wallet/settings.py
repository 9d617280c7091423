"""Settings of payouts: which processor pays (PAYMENT_*) and how often the settlement job runs."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.config import SettingsError

PROCESSORS = ("dryrun", "bitcoind")


@dataclass(frozen=True)
class PaymentSettings:
    processor: str = "dryrun"  # PAYMENT_PROCESSOR: dryrun (records payouts, sends nothing) | bitcoind
    wallet_url: str = ""  # PAYMENT_WALLET_URL: the wallet's JSON-RPC URL (bitcoind)
    wallet_user: str = ""  # PAYMENT_WALLET_USER
    wallet_password: str = ""  # PAYMENT_WALLET_PASSWORD (a secret: no default)
    minconf: int = 1  # PAYMENT_MINCONF: sendmany's minconf
    coins: str = ""  # PAYMENT_COINS: comma-separated codes the job settles (empty: every coin)
    batch_max: int = 100  # PAYMENT_BATCH_MAX: recipients per transaction
    settlement_interval_s: float = 600.0  # SETTLEMENT_INTERVAL_S

    def __post_init__(self) -> None:
        if self.processor not in PROCESSORS:
            raise SettingsError(f"PAYMENT_PROCESSOR must be one of {', '.join(PROCESSORS)}, got {self.processor!r}")
        if self.processor == "bitcoind" and not self.wallet_url:
            raise SettingsError("PAYMENT_WALLET_URL is required when PAYMENT_PROCESSOR=bitcoind")
        if not self.settlement_interval_s > 0:
            raise SettingsError(f"SETTLEMENT_INTERVAL_S must be > 0, got {self.settlement_interval_s!r}")
        if self.batch_max < 1:
            raise SettingsError(f"PAYMENT_BATCH_MAX must be >= 1, got {self.batch_max!r}")

    @property
    def coin_codes(self) -> tuple[str, ...]:
        return tuple(c.strip().upper() for c in self.coins.split(",") if c.strip())
