"""Job `credits`: every 30 s, settle found blocks into the ledger and reverse the credits of orphaned ones.

For each found block without a settlement (oldest first) whose shares are durable (the rule below), the job
reads the block's share window from `shares`, splits the reward with `kernels.rewards.split_block` under the
coin's scheme and writes the credit, fee and remainder rows in ONE insert (`sinks.ledger`): keys
`credit:<hash>:<address>`, `fee:<hash>` (written with every settlement, even 0: it marks the block settled),
`remainder:<hash>`; with fee recipients (COIN_<C>_FEE_RECIPIENTS) the fee is split over them by largest
remainder into credit rows `fee:<hash>:<address>` (mature and reversed like miners' credits, paid like them)
and `fee:<hash>` is 0. For each orphaned block, one reversal row per credit/fee/remainder row. Rows are keyed and
the insert carries a dedup token, so a retried run, a crash between runs or two runs at once change nothing.

Durability rule (a PPLNS credit is computed only once every share up to the block's time is in ClickHouse):
the block at time T is ready when (a) every partition of the shares topic that stored a share in the hour
before T has stored one at or after T (a partition's shares are time-ordered and written in offset order), or
(b) the pipeline's consumer lag on the shares topic is 0 (offsets are committed only after their rows are
durable) and T is at least `settle_s` old (the gateway publishes a share before its block event). A block that
is not ready waits for the next run. Schemes `pps`/`fpps` pay per share elsewhere: a block's reward under them is
the pool's (one `fee` row). A failed run is logged by the scheduler and retried at the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from clickhouse_connect.driver.client import Client

from bus.lag import consumer_lags
from kernels.rewards import ShareWindow, Split, split_block, split_fee
from schemas.clock import Clock, SystemClock
from schemas.coins import Coin, coin
from sinks.ledger import (
    POOL,
    FoundBlock,
    LedgerEntry,
    LedgerWriter,
    blocks_to_credit,
    entries_to_reverse,
    previous_block_ms,
    read_window,
    reversal_key,
    shares_written_past,
)

log = logging.getLogger(__name__)

EMPTY = ShareWindow(owner=np.zeros(0, np.int64), difficulty=np.zeros(0, np.float64),
                    network_difficulty=np.zeros(0, np.float64), owners=())


@dataclass(frozen=True)
class CreditsRun:
    """What one run did: blocks settled, blocks still waiting for their shares, reversal rows written."""

    settled: tuple[str, ...]
    waiting: tuple[str, ...]
    reversals: int


def settlement(block: FoundBlock, c: Coin, split: Split) -> list[LedgerEntry]:
    """The ledger rows of one block's split; raises if they do not add up to the reward exactly."""
    total = sum(split.credits.values()) + split.fee + split.remainder
    if total != block.reward or any(v < 0 for v in split.credits.values()) or split.fee < 0 or split.remainder < 0:
        raise ValueError(f"split of block {block.hash} adds up to {total}, not its reward {block.reward}")
    at, h = block.ts_ms, block.hash
    rows = [LedgerEntry(f"credit:{h}:{a}", at, c.code, a, "credit", v, h, reason=f"{c.scheme} block {block.height}")
            for a, v in sorted(split.credits.items()) if v > 0]
    if c.fee_recipients:  # the fee is credited to its recipients (paid like miners); `fee:<hash>` marks it 0
        rows += [LedgerEntry(f"fee:{h}:{a}", at, c.code, a, "credit", v, h,
                             reason=f"pool fee share {c.fee_bps} bps, block {block.height}")
                 for a, v in sorted(split_fee(split.fee, c.fee_recipients).items()) if v > 0]
    rows.append(LedgerEntry(f"fee:{h}", at, c.code, POOL, "fee", 0 if c.fee_recipients else split.fee, h,
                            reason=f"pool fee {c.fee_bps} bps, block {block.height}"))
    if split.remainder:
        rows.append(LedgerEntry(f"remainder:{h}", at, c.code, POOL, "remainder", split.remainder, h,
                                reason=f"unfilled PPLNS window ({split.window_shares} shares), block {block.height}"))
    return rows


def lag_is_zero(bootstrap: str, group_id: str, topic: str) -> Callable[[], bool]:
    """`shares_caught_up` from the pipeline group's consumer lag on `topic` (blocking: reads the broker)."""
    def caught_up() -> bool:
        return all(lag.lag == 0 for lag in consumer_lags(bootstrap, group_id, [topic]))
    return caught_up


@dataclass
class CreditsJob:
    client: Client
    shares_topic: str
    window_factor: float = 2.0
    shares_caught_up: Callable[[], bool] | None = None  # blocking: the shares topic's consumer lag is 0
    settle_s: float = 10.0
    chunk_rows: int = 100_000
    coins: Callable[[str], Coin] = coin
    clock: Clock = field(default_factory=SystemClock)
    id: str = "credits"
    interval_s: float = 30.0

    async def run(self) -> CreditsRun:
        return await asyncio.to_thread(self.run_once)

    def run_once(self) -> CreditsRun:
        writer = LedgerWriter(self.client)
        settled, waiting = [], []
        caught_up: bool | None = None
        for block in blocks_to_credit(self.client):
            c = self.coins(block.coin)
            if c.scheme in ("pplns", "prop") and not shares_written_past(self.client, self.shares_topic, block.ts_ms):
                if caught_up is None:
                    caught_up = self.shares_caught_up() if self.shares_caught_up is not None else False
                if not (caught_up and self.clock.now_ms() - block.ts_ms >= self.settle_s * 1000):
                    waiting.append(block.hash)
                    continue
            writer.write(settlement(block, c, self.split(block, c)), self.clock.now_ms())
            settled.append(block.hash)
        reversals = [LedgerEntry(reversal_key(e), self.clock.now_ms(), e.coin, e.address, "reversal", -e.amount,
                                 e.block_hash, reason=f"block orphaned: reverses {e.entry_key}")
                     for e in entries_to_reverse(self.client)]
        writer.write(reversals, self.clock.now_ms())
        if settled or reversals:
            log.info("credited %d block(s), wrote %d reversal(s)", len(settled), len(reversals))
        return CreditsRun(tuple(settled), tuple(waiting), len(reversals))

    def split(self, block: FoundBlock, c: Coin) -> Split:
        if c.scheme in ("pps", "fpps"):
            return Split(credits={}, fee=block.reward, remainder=0, window_shares=0)
        if c.scheme == "pplns":
            window = read_window(self.client, block, target_score=self.window_factor, chunk_rows=self.chunk_rows)
        elif c.scheme == "prop":
            window = read_window(self.client, block, target_score=None, since_ms=previous_block_ms(self.client, block),
                                 chunk_rows=self.chunk_rows)
        else:
            window = EMPTY
        return split_block(c.scheme, block.reward, c.fee_bps, window, window_factor=self.window_factor,
                           finder=block.miner)
