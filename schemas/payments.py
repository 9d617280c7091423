"""The payment-processor contract between the settlement job (jobs/) and the wallets (sources/wallet/).

A send carries the payout's idempotency key (`comment(payout_id)`) so that a restart can find, in the
wallet's own transactions, whether a planned payout was sent. Amounts are integers in base units; a wallet
that wants decimals gets exact decimal strings (`schemas.coins.to_decimal`), never floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

PAYOUT_STATES = ("planned", "sent", "confirmed", "failed")
STATE_VERSION = {"planned": 1, "failed": 2, "sent": 3, "confirmed": 4}
COMMENT_PREFIX = "poolstream:"


def comment(payout_id: str) -> str:
    """The text a send carries (wallet transaction comment): how reconciliation recognises a payout."""
    return COMMENT_PREFIX + payout_id


class SendFailed(Exception):
    """The wallet refused the send: nothing was sent (the payout is `failed`, the balance kept)."""


class SendUnknown(Exception):
    """The send's outcome is unknown (timeout, connection lost after the request): the payout stays `planned`
    and the next run reconciles it against the wallet. Never treated as failed: that could pay twice."""


class PaymentProcessor(Protocol):
    """Sends payouts. Blocking calls (the job runs them in a worker thread)."""

    name: str

    def send(self, coin: str, decimals: int, recipients: Mapping[str, int], payout_id: str) -> str:
        """Pay every address its base units in one transaction carrying `comment(payout_id)`; the tx hash.
        Raises SendFailed (nothing sent) or SendUnknown (maybe sent)."""
        ...

    def find(self, coin: str, payout_id: str) -> str | None:
        """The tx hash of a send that carried `comment(payout_id)`, None when the wallet has none.
        Raises SendUnknown when the wallet cannot be asked."""
        ...
