"""Job `maturity`: every N s, move found blocks to confirmed (after the coin's maturity) or orphaned.

For each block whose current status (newest row, `argMax(status, updated_at)`) is `found`/`pending`, the
chain (`sources.chain.status.ChainStatus`: a node's JSON-RPC or the simulated chain) is asked how deep it is:
at least `Coin.maturity` confirmations -> a `confirmed` row; not on the main chain -> an `orphaned` row; else
the `found` row is rewritten with the new count (`confirmations` column, what /api/v1/blocks shows). Rows keep
the block's fields and carry the check's time as `updated_at`. Idempotent: each decision is inserted with a
deduplication token naming the block and its new status, and the table collapses (hash, status) duplicates,
so a retried or repeated run adds nothing. A chain that cannot be asked leaves the block for the next run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from clickhouse_connect.driver.client import Client

from schemas.clock import Clock
from schemas.rows import BLOCK_COLUMNS

log = logging.getLogger(__name__)

#: Confirmations before a block's credits mature, when `schemas.coins` does not know the coin.
FALLBACK_MATURITY: dict[str, int] = {"BTC": 101, "LTC": 101, "DOGE": 241}

_OPEN = (
    "SELECT hash, argMax(height, updated_at), toUnixTimestamp64Milli(min(ts)), argMax(algorithm, updated_at), "
    "argMax(coin, updated_at), argMax(miner, updated_at), argMax(worker, updated_at), argMax(reward, updated_at), "
    "argMax(network_difficulty, updated_at), argMax(share_difficulty, updated_at), "
    "argMax(status, updated_at) AS state, argMax(job_id, updated_at), argMax(header_hex, updated_at), "
    "argMax(confirmations, updated_at) FROM blocks GROUP BY hash HAVING state IN ('found', 'pending') "
    "ORDER BY hash LIMIT {limit:UInt32}"
)


class ChainStatus(Protocol):
    """What the job needs of a chain (`sources.chain.status.ChainStatus`: the node's JSON-RPC or the simulated
    chain): confirmations of a block, 0 before the tip reaches it, None when it is not on the main chain."""

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None: ...


def coin_maturity(code: str) -> int:
    """`schemas.coins.coin(code).maturity` (the coin table), or the fallback figure for BTC/LTC/DOGE."""
    try:
        coins = importlib.import_module("schemas.coins")
        return int(coins.coin(code).maturity)
    except (ImportError, AttributeError, ValueError):
        if code in FALLBACK_MATURITY:
            return FALLBACK_MATURITY[code]
        raise ValueError(f"unknown coin {code!r}") from None


@dataclass
class MaturityRun:
    """What one run did."""

    checked: int = 0
    confirmed: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    pending: int = 0
    unavailable: int = 0


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


@dataclass
class MaturityJob:
    client: Client
    chain: ChainStatus
    clock: Clock
    maturity: Callable[[str], int] = coin_maturity
    id: str = "maturity"
    interval_s: float = 30.0
    batch: int = 10_000

    async def run(self) -> MaturityRun:
        return await asyncio.to_thread(self.check)

    def check(self) -> MaturityRun:
        """One pass over the open blocks (synchronous: the scheduler runs it in a thread)."""
        out = MaturityRun()
        rows = self.client.query(_OPEN, parameters={"limit": self.batch}).result_rows
        now = _utc(self.clock.now_ms())
        for (hash_, height, found_ms, algorithm, coin, miner, worker, reward, nd, sd, _state, job_id, header,
             known) in rows:
            out.checked += 1
            try:
                maturity = self.maturity(str(coin))
                depth = self.chain.confirmations(str(coin), int(height), str(hash_))
            except Exception as exc:  # noqa: BLE001 - an unknown coin or an unreachable chain: ask again next run
                out.unavailable += 1
                log.warning("block %s (%s %s): chain not asked: %s", hash_, coin, height, exc)
                continue
            if depth is None or depth < 0:
                status, confirmations = "orphaned", 0
                out.orphaned.append(str(hash_))
            elif depth >= maturity:
                status, confirmations = "confirmed", depth
                out.confirmed.append(str(hash_))
            else:
                out.pending += 1
                if depth == int(known):
                    continue
                status, confirmations = "found", depth
            row = [hash_, height, _utc(int(found_ms)), algorithm, coin, miner, worker, reward, nd, sd, status,
                   job_id, header, now, confirmations]
            token = f"maturity:{hash_}:{status}" + (f":{confirmations}" if status == "found" else "")
            self.client.insert("blocks", [row], column_names=[*BLOCK_COLUMNS, "confirmations"],
                               settings={"insert_deduplication_token": token})
            if status != "found":
                log.info("block %s (%s %s) %s", hash_, coin, height, status)
        return out

