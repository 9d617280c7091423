"""The writer and readers of `payouts` and `payout_thresholds` (migration 0014), and the mature balances the
settlement job pays from the `ledger` (migration 0011).

A payout's state change is a new row with the state's rank as ReplacingMergeTree version (read FINAL): the
furthest state wins. Writes are single INSERTs; a retried write of the same state is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from clickhouse_connect.driver.client import Client

from schemas.payments import STATE_VERSION

PAYOUT_TABLE = "payouts"
PAYOUT_COLUMNS = ["payout_id", "coin", "state", "version", "addresses", "amounts", "total", "tx_hash", "error",
                  "origin", "created_at", "updated_at"]
THRESHOLD_COLUMNS = ["address", "coin", "amount", "updated_by", "updated_at"]
PAYOUT_SELECT = ("SELECT payout_id, coin, state, addresses, amounts, tx_hash, error, origin, "
                 "toUnixTimestamp64Milli(created_at), toUnixTimestamp64Milli(updated_at) FROM payouts FINAL")

_STATES = "SELECT hash, argMax(status, updated_at) AS state FROM blocks GROUP BY hash"
MATURE_SQL = (
    "SELECT l.address, sumIf(l.amount, (l.kind IN ('credit', 'reversal') AND s.state = 'confirmed') "
    "OR l.kind IN ('adjustment', 'payout')) AS mature "
    "FROM (SELECT address, kind, amount, block_hash FROM ledger FINAL WHERE coin = {c:String} AND address != '') "
    f"AS l LEFT JOIN ({_STATES}) AS s ON s.hash = l.block_hash "
    "GROUP BY l.address HAVING mature > 0 ORDER BY l.address"
)


@dataclass(frozen=True)
class Payout:
    """One payout: `recipients` maps address -> base units (> 0)."""

    payout_id: str
    coin: str
    state: str
    recipients: tuple[tuple[str, int], ...]
    created_ms: int
    updated_ms: int
    tx_hash: str = ""
    error: str = ""
    origin: str = "scheduled"  # scheduled | manual

    @property
    def total(self) -> int:
        return sum(v for _, v in self.recipients)

    def moved(self, state: str, now_ms: int, *, tx_hash: str = "", error: str = "") -> Payout:
        return replace(self, state=state, updated_ms=now_ms, tx_hash=tx_hash or self.tx_hash, error=error)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def payout_of(row: Sequence[Any]) -> Payout:
    pid, c, state, addresses, amounts, tx, error, origin, created, updated = row
    return Payout(str(pid), str(c), str(state), tuple((str(a), int(v)) for a, v in zip(addresses, amounts,
                  strict=True)), int(created), int(updated), str(tx), str(error), str(origin))


class PayoutWriter:
    """The one writer of `payouts`: `write` records a payout in its current state (durable on return)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def write(self, p: Payout) -> None:
        if p.state not in STATE_VERSION:
            raise ValueError(f"payout state {p.state!r} is not one of {', '.join(STATE_VERSION)}")
        if any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for _, v in p.recipients):
            raise ValueError(f"payout {p.payout_id}: amounts must be positive ints of base units")
        row = [p.payout_id, p.coin, p.state, STATE_VERSION[p.state], [a for a, _ in p.recipients],
               [v for _, v in p.recipients], p.total, p.tx_hash, p.error[:1000], p.origin, _utc(p.created_ms),
               _utc(p.updated_ms)]
        self._client.insert(PAYOUT_TABLE, [row], column_names=PAYOUT_COLUMNS,
                            settings={"insert_deduplication_token": f"payout:{p.payout_id}:{p.state}"})


def planned(client: Client, coin: str | None = None) -> list[Payout]:
    """Payouts still `planned` (not known sent or failed), oldest first."""
    return payouts_in(client, "planned", coin)


def payouts_in(client: Client, state: str, coin: str | None = None) -> list[Payout]:
    """Payouts whose current state is `state` (e.g. `sent`: awaiting confirmations), oldest first."""
    where = "WHERE state = {s:String}" + (" AND coin = {c:String}" if coin else "")
    rows = client.query(f"{PAYOUT_SELECT} {where} ORDER BY created_at, payout_id",
                        parameters={"s": state, "c": coin or ""}).result_rows
    return [payout_of(r) for r in rows]


def payout_count(client: Client, coin: str) -> int:
    """How many payouts of `coin` exist (any state): the sequence number of the next one."""
    rows = client.query("SELECT count() FROM payouts FINAL WHERE coin = {c:String}", parameters={"c": coin})
    return int(rows.result_rows[0][0])


def get_payout(client: Client, payout_id: str) -> Payout | None:
    rows = client.query(f"{PAYOUT_SELECT} WHERE payout_id = {{p:String}}", parameters={"p": payout_id}).result_rows
    return payout_of(rows[0]) if rows else None


def mature_balances(client: Client, coin: str) -> dict[str, int]:
    """address -> mature base units (> 0) of `coin`: confirmed credits + adjustments + payouts (negative)."""
    return {str(a): int(v) for a, v in client.query(MATURE_SQL, parameters={"c": coin}).result_rows}


def thresholds(client: Client, coin: str) -> dict[str, int]:
    """address -> the miner's own payout threshold of `coin` (base units)."""
    rows = client.query("SELECT address, amount FROM payout_thresholds FINAL WHERE coin = {c:String}",
                        parameters={"c": coin}).result_rows
    return {str(a): int(v) for a, v in rows}
