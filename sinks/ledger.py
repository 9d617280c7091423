"""The writer and readers of the `ledger` table (migration 0011) and the reads the credits job needs.

Rows are append-only and keyed by a deterministic `entry_key`; every write is one INSERT with a dedup token
built from the keys, so a retried or replayed write changes nothing (ReplacingMergeTree, read with FINAL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from clickhouse_connect.driver.client import Client

from kernels.rewards import ShareWindow

LEDGER_TABLE = "ledger"
LEDGER_COLUMNS = ["entry_key", "ts", "coin", "address", "kind", "amount", "block_hash", "payout_id", "reason",
                  "created_at"]
KINDS = ("credit", "fee", "remainder", "reversal", "payout", "adjustment")
POOL = ""  # the address of pool-side rows (fee, remainder)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row. `amount` is signed base units (reversals and payouts negative)."""

    entry_key: str
    ts_ms: int
    coin: str
    address: str
    kind: str
    amount: int
    block_hash: str = ""
    payout_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class FoundBlock:
    """A block as the credits job sees it: its `found` row and its current status."""

    hash: str
    height: int
    ts_ms: int
    algorithm: str
    coin: str
    miner: str
    reward: int
    status: str


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def entries_token(entries: Sequence[LedgerEntry]) -> str:
    """The INSERT's dedup token: the same entries (keys and amounts) always give the same token."""
    spec = ";".join(f"{e.entry_key}={e.amount}" for e in sorted(entries, key=lambda e: e.entry_key))
    return "ledger:" + hashlib.sha256(spec.encode()).hexdigest()


class LedgerWriter:
    """The one writer of `ledger`: `write` is one INSERT, durable on return, raising on failure."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def write(self, entries: Sequence[LedgerEntry], now_ms: int) -> None:
        if not entries:
            return
        for e in entries:
            if e.kind not in KINDS:
                raise ValueError(f"ledger kind {e.kind!r} is not one of {', '.join(KINDS)}")
            if not isinstance(e.amount, int) or isinstance(e.amount, bool):
                raise TypeError(f"ledger amount of {e.entry_key} must be an int of base units")
        created = _utc(now_ms)
        rows = [[e.entry_key, _utc(e.ts_ms), e.coin, e.address, e.kind, e.amount, e.block_hash, e.payout_id,
                 e.reason, created] for e in entries]
        self._client.insert(LEDGER_TABLE, rows, column_names=LEDGER_COLUMNS,
                            settings={"insert_deduplication_token": entries_token(entries)})


_CURRENT = ("SELECT hash, argMax(status, updated_at) AS status FROM blocks FINAL GROUP BY hash")


def blocks_to_credit(client: Client, limit: int = 100) -> list[FoundBlock]:
    """Found blocks with no settlement yet (no `fee:<hash>` row, written with every block's credits), oldest
    first. A block already orphaned before it was credited is skipped: there is nothing to credit."""
    result = client.query(
        f"SELECT b.hash, b.height, toUnixTimestamp64Milli(b.ts), b.algorithm, b.coin, b.miner, b.reward, c.status "
        f"FROM (SELECT * FROM blocks FINAL WHERE status = 'found') AS b "
        f"INNER JOIN ({_CURRENT}) AS c ON c.hash = b.hash "
        f"WHERE c.status != 'orphaned' AND concat('fee:', b.hash) NOT IN "
        f"(SELECT entry_key FROM ledger WHERE kind = 'fee') "
        f"ORDER BY b.ts, b.hash LIMIT {{limit:UInt32}}",
        parameters={"limit": limit})
    return [FoundBlock(str(h), int(ht), int(ts), str(a), str(c), str(m), int(r), str(s))
            for h, ht, ts, a, c, m, r, s in result.result_rows]


def entries_to_reverse(client: Client, limit: int = 10_000) -> list[LedgerEntry]:
    """Credit, fee and remainder rows of orphaned blocks whose reversal is not written yet."""
    result = client.query(
        f"SELECT entry_key, toUnixTimestamp64Milli(ts), coin, address, kind, amount, block_hash FROM ledger FINAL "
        f"WHERE kind IN ('credit', 'fee', 'remainder') "
        f"AND block_hash IN (SELECT hash FROM ({_CURRENT}) WHERE status = 'orphaned') "
        f"AND {REVERSAL_KEY_SQL} NOT IN (SELECT entry_key FROM ledger WHERE kind = 'reversal') "
        f"ORDER BY block_hash, entry_key LIMIT {{limit:UInt32}}",
        parameters={"limit": limit})
    return [LedgerEntry(str(k), int(ts), str(c), str(a), str(kind), int(amt), str(h))
            for k, ts, c, a, kind, amt, h in result.result_rows]


def reversal_key(entry: LedgerEntry) -> str:
    """`reversal:<hash>:<address>` for a credit; `reversal:<hash>:#fee` / `#remainder` for the pool's rows
    (an address never holds `#`); `reversal:<hash>:#fee:<address>` for a fee recipient's credit `fee:<hash>:<address>`.
    Mirrors `REVERSAL_KEY_SQL`."""
    who = entry.address if entry.kind == "credit" else f"#{entry.kind}"
    if entry.kind == "credit" and entry.entry_key.startswith("fee:"):
        who = f"#fee:{entry.address}"
    return f"reversal:{entry.block_hash}:{who}"


REVERSAL_KEY_SQL = ("concat('reversal:', block_hash, ':', if(kind = 'credit', "
                    "if(startsWith(entry_key, 'fee:'), concat('#fee:', address), address), concat('#', kind)))")


def previous_block_ms(client: Client, block: FoundBlock) -> int:
    """The time of the coin's previous found block (the start of a PROP round); 0 when there is none."""
    result = client.query(
        "SELECT toUnixTimestamp64Milli(max(ts)) FROM blocks FINAL WHERE status = 'found' AND coin = {c:String} "
        "AND ts < fromUnixTimestamp64Milli({ts:Int64}) HAVING count() > 0",
        parameters={"c": block.coin, "ts": block.ts_ms})
    return int(result.result_rows[0][0]) if result.result_rows else 0


def read_window(client: Client, block: FoundBlock, *, target_score: float | None, since_ms: int = 0,
                chunk_rows: int = 100_000) -> ShareWindow:
    """Accepted shares of the block's algorithm and coin, newest first from the block's time, in chunks of
    `chunk_rows` (keyset paging on (ts, share_key)): until the score Σ d/D reaches `target_score` (PPLNS: X),
    or, without a target, every share after `since_ms` (PROP: the round)."""
    owners: dict[str, int] = {}
    owner_parts: list[np.ndarray] = []
    diff_parts: list[np.ndarray] = []
    net_parts: list[np.ndarray] = []
    score = 0.0
    last: tuple[int, int] | None = None
    while True:
        after = "AND (toUnixTimestamp64Milli(ts), share_key) < ({lts:Int64}, {lkey:UInt64}) " if last else ""
        result = client.query(
            "SELECT miner, difficulty, network_difficulty, toUnixTimestamp64Milli(ts), share_key FROM shares "
            "WHERE status = 'accepted' AND algorithm = {alg:String} AND (coin = {coin:String} OR coin = '') "
            "AND ts <= fromUnixTimestamp64Milli({until:Int64}) AND ts > fromUnixTimestamp64Milli({since:Int64}) "
            + after + "ORDER BY ts DESC, share_key DESC LIMIT {n:UInt32}",
            parameters={"alg": block.algorithm, "coin": block.coin, "until": block.ts_ms, "since": since_ms,
                        "lts": last[0] if last else 0, "lkey": last[1] if last else 0, "n": chunk_rows})
        rows = result.result_rows
        if not rows:
            break
        d = np.array([r[1] for r in rows], dtype=np.float64)
        nd = np.array([r[2] for r in rows], dtype=np.float64)
        o = np.array([owners.setdefault(str(r[0]), len(owners)) for r in rows], dtype=np.int64)
        if target_score is not None:
            cum = score + np.cumsum(np.divide(d, nd, out=np.zeros_like(d), where=nd > 0))
            reached = np.nonzero(cum >= target_score)[0]
            if reached.size:
                cut = int(reached[0]) + 1
                owner_parts.append(o[:cut])
                diff_parts.append(d[:cut])
                net_parts.append(nd[:cut])
                break
            score = float(cum[-1])
        owner_parts.append(o)
        diff_parts.append(d)
        net_parts.append(nd)
        if len(rows) < chunk_rows:
            break
        last = (int(rows[-1][3]), int(rows[-1][4]))
    names = tuple(sorted(owners, key=owners.__getitem__))
    return ShareWindow(owner=np.concatenate(owner_parts) if owner_parts else np.zeros(0, np.int64),
                       difficulty=np.concatenate(diff_parts) if diff_parts else np.zeros(0, np.float64),
                       network_difficulty=np.concatenate(net_parts) if net_parts else np.zeros(0, np.float64),
                       owners=names)


def shares_written_past(client: Client, topic: str, ts_ms: int, lookback_ms: int = 3_600_000) -> bool:
    """True when every partition of `topic` that stored a share in the `lookback_ms` before `ts_ms` has also
    stored a share at or after `ts_ms`. Within a partition shares arrive in time order and the agent writes a
    partition's batches in offset order, so no share of such a partition up to `ts_ms` can still be missing."""
    result = client.query(
        "SELECT src_partition, max(toUnixTimestamp64Milli(ts)) FROM shares WHERE src_topic = {t:String} "
        "AND ts >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY src_partition",
        parameters={"t": topic, "since": ts_ms - lookback_ms})
    return bool(result.result_rows) and all(int(latest) >= ts_ms for _, latest in result.result_rows)
