"""What the WebSocket pushes read from ClickHouse: new blocks, and the figures of subscribed miners.

Both read through the tables' sort keys or tiny tables, in the `Db`'s worker thread, a few times a second
at most, and only while someone listens (the hub decides).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from api.services.blocks import coin_amount
from api.services.db import Db
from api.services.windows import BUCKETS, DAY, TEN_MINUTES, from_ms, to_ms
from api.ws.protocol import BlockData, MinerData
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate
from schemas.clock import Clock

#: A block row counts as new if its time is at most this much before the first subscription (the pipeline
#: takes about a second from the gateway to the table), and is looked for up to LOOKBACK after its time.
GRACE = dt.timedelta(seconds=5)
LOOKBACK = dt.timedelta(minutes=10)

_BLOCKS = (
    "SELECT hash, status, height, toUnixTimestamp64Milli(ts), coin, reward, miner, algorithm, "
    "toUnixTimestamp64Milli(updated_at) FROM blocks "
    "WHERE updated_at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND status IN ('found', 'confirmed', 'orphaned') "
    "ORDER BY updated_at, hash LIMIT 1000"
)
_MINER_WORK = (
    "SELECT miner, algorithm, sum(sum_difficulty), toUnixTimestamp64Milli(min(first_ts)) FROM shares_1m "
    "WHERE miner IN {miners:Array(String)} AND " + BUCKETS + " AND algorithm IN {known:Array(String)} "
    "GROUP BY miner, algorithm"
)
_MINER_COUNTS = (
    "SELECT miner, sum(accepted), sum(rejected) + sum(stale), toUnixTimestamp64Milli(max(last_ts)) "
    "FROM shares_1h WHERE miner IN {miners:Array(String)} AND " + BUCKETS + " GROUP BY miner"
)


class BlockFeed:
    """Block events not pushed yet, since the first subscription: a block found, then its status changes
    (`confirmed` / `orphaned`), one event per (hash, status)."""

    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._since = clock.now() - GRACE
        self._seen: dict[str, int] = {}  # "hash:status" -> its updated_at (ms), pruned after LOOKBACK

    def start(self) -> None:
        """Called when the channel gets its first subscriber: older blocks are history, not news."""
        self._since = self._clock.now() - GRACE
        self._seen.clear()

    async def poll(self) -> list[BlockData]:
        now = self._clock.now()
        since_ms = to_ms(max(self._since, now - LOOKBACK))
        self._seen = {h: at for h, at in self._seen.items() if at >= since_ms}
        found = []
        for hash_, status, height, ts_ms, coin, reward, miner, algorithm, updated_ms in await self._db.rows(
            _BLOCKS, {"since_ms": since_ms}
        ):
            event = f"{hash_}:{status}"
            if event in self._seen:
                continue
            self._seen[event] = int(updated_ms)
            amount = Decimal(coin_amount(int(reward), str(coin))[1])  # decimals from the one coin table
            found.append(BlockData(
                height=int(height), hash=str(hash_), reward=float(amount), currency=str(coin),
                reward_base_units=int(reward), reward_str=f"{amount:f}", found_at=from_ms(int(ts_ms)),
                found_by=str(miner), algorithm=str(algorithm), status=str(status),
            ))
        return found


class MinerFeed:
    """Each address's seed `miner` figures: 10-minute hashrate (H = Σd·F/T per algorithm, summed, as
    `api.services.hashrate`), 24 h accepted/rejected shares, last share; balance 0 until the ledger."""

    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def poll(self, addresses: Sequence[str]) -> Mapping[str, MinerData]:
        now_ms = to_ms(self._clock.now())
        miners = sorted(set(addresses))
        work = await self._db.rows(_MINER_WORK, {**TEN_MINUTES.params(now_ms), "miners": miners,
                                                 "known": list(ALGORITHM_NAMES)})
        counts = {str(m): (int(a), int(r), int(last)) for m, a, r, last in
                  await self._db.rows(_MINER_COUNTS, {**DAY.params(now_ms), "miners": miners})}
        rates: dict[str, float] = {}
        start_ms = TEN_MINUTES.aligned_start_ms(now_ms)
        for miner, algorithm, sum_d, first_ms in work:
            seconds = (now_ms - max(start_ms, int(first_ms))) / 1000
            rates[str(miner)] = rates.get(str(miner), 0.0) + hashrate(float(sum_d), seconds,
                                                                      Algorithm.parse(algorithm))
        found = {}
        for miner in miners:
            accepted, rejected, last_ms = counts.get(miner, (0, 0, 0))
            found[miner] = MinerData(address=miner, hashrate=rates.get(miner, 0.0), balance=0.0,
                                     shares_accepted=accepted, shares_rejected=rejected,
                                     last_share=from_ms(last_ms) if last_ms else None)
        return found
