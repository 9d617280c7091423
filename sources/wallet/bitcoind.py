"""A bitcoind-compatible wallet (Bitcoin / Litecoin / Dogecoin Core) over JSON-RPC: `sendmany` pays a batch
with the payout's idempotency key as the transaction comment; `listtransactions` finds it again;
`gettransaction` tells when a sent payout has its confirmations.

Amounts go out as exact decimal numbers written from base units (`to_decimal`), never through a float.
An RPC error answer means the wallet refused (nothing sent: SendFailed); a timeout or a lost connection after
the request left means the outcome is unknown (SendUnknown: reconciled by the next run, never re-sent blind).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from schemas.coins import to_decimal
from schemas.payments import SendFailed, SendUnknown, comment

SCAN = 1000  # listtransactions page size


class BitcoindWallet:
    name = "bitcoind"

    def __init__(self, url: str, *, user: str = "", password: str = "", minconf: int = 1,
                 timeout_s: float = 30.0) -> None:
        self._url = url
        self._minconf = minconf
        self._client = httpx.Client(timeout=timeout_s, auth=(user, password) if user or password else None)
        self._id = 0

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, params_json: str, *, sending: bool) -> Any:
        self._id += 1
        body = f'{{"jsonrpc":"1.0","id":{self._id},"method":{json.dumps(method)},"params":{params_json}}}'
        try:
            response = self._client.post(self._url, content=body.encode(),
                                         headers={"content-type": "application/json"})
        except httpx.ConnectError as exc:  # nothing reached the wallet
            raise (SendFailed if sending else SendUnknown)(f"{method}: wallet unreachable: {exc}") from None
        except httpx.HTTPError as exc:
            raise SendUnknown(f"{method}: {exc!r}") from None
        try:
            answer = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise SendUnknown(f"{method}: HTTP {response.status_code}, not JSON") from None
        error = answer.get("error") if isinstance(answer, dict) else None
        if error:
            message = f"{method}: wallet error {error.get('code')}: {error.get('message')}"
            raise (SendFailed if sending else SendUnknown)(message)
        if response.status_code != 200 or not isinstance(answer, dict):
            raise SendUnknown(f"{method}: HTTP {response.status_code}")
        return answer.get("result")

    def send(self, coin: str, decimals: int, recipients: Mapping[str, int], payout_id: str) -> str:
        if not recipients or any(v <= 0 for v in recipients.values()):
            raise SendFailed("every amount must be > 0")
        amounts = ",".join(f"{json.dumps(a)}:{to_decimal(v, decimals)}" for a, v in sorted(recipients.items()))
        params = f'["",{{{amounts}}},{int(self._minconf)},{json.dumps(comment(payout_id))}]'
        txid = self._call("sendmany", params, sending=True)
        if not isinstance(txid, str) or not txid:
            raise SendUnknown(f"sendmany answered {txid!r}, not a tx id")
        return txid

    def confirmed(self, coin: str, tx_hash: str) -> bool:
        """Whether the wallet reports `tx_hash` with at least PAYMENT_MINCONF confirmations (`gettransaction`);
        SendUnknown when the wallet cannot say (asked again next run)."""
        tx = self._call("gettransaction", f"[{json.dumps(tx_hash)}]", sending=False)
        confirmations = tx.get("confirmations") if isinstance(tx, dict) else None
        if not isinstance(confirmations, int) or isinstance(confirmations, bool):
            raise SendUnknown(f"gettransaction answered no confirmations for {tx_hash[:16]}")
        return confirmations >= max(self._minconf, 1)

    def find(self, coin: str, payout_id: str) -> str | None:
        wanted = comment(payout_id)
        skip = 0
        while True:
            page = self._call("listtransactions", f'["*",{SCAN},{skip},true]', sending=False)
            if not isinstance(page, list):
                raise SendUnknown(f"listtransactions answered {type(page).__name__}")
            for tx in page:
                if isinstance(tx, dict) and tx.get("comment") == wanted and tx.get("category") == "send":
                    return str(tx.get("txid", ""))
            if len(page) < SCAN:
                return None
            skip += SCAN
