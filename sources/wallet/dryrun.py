"""The `dryrun` processor (default): sends nothing, answers every send with a tx id derived from the payout
id, so a retried send of the same payout gets the same id. Payouts, ledger rows and balances are real."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from schemas.payments import SendFailed


class DryRun:
    name = "dryrun"

    def send(self, coin: str, decimals: int, recipients: Mapping[str, int], payout_id: str) -> str:
        if not recipients or any(v <= 0 for v in recipients.values()):
            raise SendFailed("every amount must be > 0")
        return "dryrun-" + hashlib.sha256(payout_id.encode()).hexdigest()[:56]

    def find(self, coin: str, payout_id: str) -> str | None:
        return None  # nothing was sent: a planned payout is "sent" again, with the same id
