"""One miner's figures: /miners/{address} (totals, rejects by reason), its workers and its payments.

/miners/{address} of a miner active in the last 24 h is answered from the pool snapshot (`known`), which
computes every active miner at once with the same rows and code as the one-miner read; any other address is
read with the bucket tables' sort key (`miner = ...`) and cached for `cache_ttl_s` (the snapshot interval).
The worker list is always read per miner (sort key) and cached the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Generic, TypeVar

import msgspec

from api.answers import EncodedAnswers
from api.dto.common import ReasonCount, ShareCounts
from api.dto.miners import ActiveMiner, MinerStats, WorkerStats
from api.errors import NotFound
from api.services.balances import Balance
from api.services.db import Db
from api.services.hashrate import BucketRow, group, rates, summarise, summed, window_rows
from api.services.windows import BUCKETS, DAY, TEN_MINUTES, from_ms, to_ms
from api.validation import require_address
from schemas.clock import Clock
from schemas.hardware import hardware_class

V = TypeVar("V")

# shares_1d is kept forever: it knows every worker a miner ever had and its last share.
_WORKERS_EVER = (
    "SELECT worker, toUnixTimestamp64Milli(max(last_ts)), lower(argMax(hardware, last_ts)), "
    "toUnixTimestamp64Milli(max(last_accepted_ts)) "
    "FROM shares_1d WHERE miner = {miner:String} GROUP BY worker ORDER BY worker"
)
# Same aligned start as the 24 h counts, so the reasons add up to rejected + stale.
_REJECTS_24H = (
    "SELECT miner, reason, sum(shares) AS n FROM share_rejects_1m WHERE " + BUCKETS
    + " {miner_filter} GROUP BY miner, reason ORDER BY miner, n DESC, reason"
)
#: Per worker: the latest temperature of each of its devices in the last 10 minutes (the rule of the fleet's
#: figures, api.services.hardware), as the mean and the max over its devices; the sort key (miner, worker, ...).
_TEMPERATURES = (
    "SELECT worker, avg(t), max(t) FROM (SELECT worker, argMax(temperature_c, ts) AS t FROM telemetry "
    "WHERE miner = {miner:String} AND ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') "
    "GROUP BY worker, device_class, device_id) GROUP BY worker"
)
_REGISTRY = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'workers'"
_REGISTERED = (
    "SELECT DISTINCT worker_name FROM workers FINAL WHERE address = {miner:String} AND deleted = 0"
)


class TtlCache(Generic[V]):
    """Values kept for `ttl_s` seconds (monotonic time), at most `size` of them."""

    def __init__(self, ttl_s: float, size: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._size = size
        self._items: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: str, value: V) -> None:
        if len(self._items) >= self._size:
            now = time.monotonic()
            self._items = {k: v for k, v in self._items.items() if v[0] >= now}
            if len(self._items) >= self._size:
                self._items.clear()
        self._items[key] = (time.monotonic() + self._ttl_s, value)


def online(last_accepted_ms: int, now_ms: int) -> bool:
    """Online = contributed accepted work in the last 10 minutes (a stream of rejects is not mining)."""
    return last_accepted_ms >= TEN_MINUTES.start_ms(now_ms)


def miner_stats(
    miner: str, rows_10m: list[BucketRow], rows_24h: list[BucketRow], rejects: list[ReasonCount], now_ms: int
) -> MinerStats:
    """A miner's answer from its rows (it has at least one row in the 24 h window)."""
    rates_10m = rates(rows_10m, TEN_MINUTES, now_ms, lambda r: r.miner).get(miner, [])
    rates_24h = rates(rows_24h, DAY, now_ms, lambda r: r.miner).get(miner, [])
    algorithms = {r.algorithm for r in rates_10m} | {r.algorithm for r in rates_24h}
    active = {r.worker for r in rows_10m if online(r.last_accepted_ms, now_ms)}
    return MinerStats(
        address=miner,
        hashrate=summed(rates_10m),
        hashrate_24h=summed(rates_24h),
        workers=len(active),
        shares=ShareCounts(
            accepted=sum(r.accepted for r in rows_24h),
            rejected=sum(r.rejected for r in rows_24h),
            stale=sum(r.stale for r in rows_24h),
        ),
        balance=0.0,
        paid=0.0,
        last_share=from_ms(max(r.last_ms for r in rows_24h)),
        workers_24h=len({r.worker for r in rows_24h}),
        hashrate_10m=summarise(rates_10m, TEN_MINUTES, algorithms),
        hashrate_24h_detail=summarise(rates_24h, DAY, algorithms),
        rejects_24h=rejects,
        updated_at=from_ms(now_ms),
    )


async def rejects_24h(db: Db, now_ms: int, miner: str | None = None) -> dict[str, list[ReasonCount]]:
    sql = _REJECTS_24H.replace("{miner_filter}", "AND miner = {miner:String}" if miner is not None else "")
    params: dict[str, object] = {**DAY.params(now_ms), **({"miner": miner} if miner is not None else {})}
    out: dict[str, list[ReasonCount]] = {}
    for m, reason, n in await db.rows(sql, params):
        out.setdefault(str(m), []).append(ReasonCount(reason=str(reason), shares=int(n)))
    return out


async def all_miners(db: Db, now_ms: int, rows_10m: list[BucketRow], rows_24h: list[BucketRow]) -> dict[str, MinerStats]:
    """Every miner with a share in the last 24 h (the snapshot's part)."""
    rejects = await rejects_24h(db, now_ms)
    return await asyncio.to_thread(_all_miners, now_ms, rows_10m, rows_24h, rejects)  # CPU: off the event loop


def _all_miners(now_ms: int, rows_10m: list[BucketRow], rows_24h: list[BucketRow],
                rejects: dict[str, list[ReasonCount]]) -> dict[str, MinerStats]:
    by_miner_10m = group(rows_10m, lambda r: r.miner)
    return {
        miner: miner_stats(miner, by_miner_10m.get(miner, []), rows, rejects.get(miner, []), now_ms)
        for miner, rows in group(rows_24h, lambda r: r.miner).items()
    }


def with_balance(stats: MinerStats, balances: list[Balance]) -> MinerStats:
    """`stats` with the ledger's figures of its coin (an address belongs to one coin: the first one found)."""
    if not balances:
        return stats
    b = balances[0]
    return msgspec.structs.replace(
        stats, balance=float(Decimal(b.mature_str)), paid=float(Decimal(b.paid_str)), currency=b.coin,
        balance_base_units=b.mature_base_units, balance_str=b.mature_str, pending_base_units=b.pending_base_units,
        pending_str=b.pending_str, paid_base_units=b.paid_base_units, paid_str=b.paid_str)


class MinerService:
    def __init__(
        self, db: Db, clock: Clock, *, known: Callable[[], Mapping[str, MinerStats]] = dict, cache_ttl_s: float = 2.0,
        balances: Callable[[str], Awaitable[list[Balance]]] | None = None,
    ) -> None:
        self._balances = balances  # the ledger's balances of an address (api.services.balances)
        self._db = db
        self._clock = clock
        self._known = known
        self._miners: TtlCache[MinerStats] = TtlCache(cache_ttl_s)
        self._workers: TtlCache[list[WorkerStats]] = TtlCache(cache_ttl_s)
        self._answers = EncodedAnswers()
        self._registry = False  # the `workers` registry table exists (once seen, it stays)

    async def miner(self, address: str) -> MinerStats:
        miner = require_address(address)
        found = self._known().get(miner) or self._miners.get(miner)
        if found is None:
            found = await self.read_miner(miner)
            self._miners.put(miner, found)
        if self._balances is not None:
            found = with_balance(found, await self._balances(miner))
        return found

    def active(self) -> list[ActiveMiner]:
        """The miners of the latest pool snapshot with accepted work in the last 24 h (not an address whose
        shares were all rejected, e.g. malformed), by 10-minute hashrate."""
        return [ActiveMiner(address=m.address, hashrate=m.hashrate, hashrate_24h=m.hashrate_24h, workers=m.workers,
                            workers_24h=m.workers_24h, shares=m.shares, last_share=m.last_share)
                for m in sorted(self._known().values(), key=lambda m: (-m.hashrate, -m.hashrate_24h, m.address))
                if m.shares.accepted > 0]

    async def miner_answer(self, address: str) -> bytes:
        """The encoded `/miners/{address}` envelope (encoded once per snapshot or cache entry)."""
        found = await self.miner(address)
        return self._answers.get(found.address, found, lambda: found, found.updated_at)

    async def read_miner(self, miner: str) -> MinerStats:
        """One miner read from ClickHouse with the sort key (no snapshot, no cache)."""
        now_ms = to_ms(self._clock.now())
        rows_24h = await window_rows(self._db, now_ms, DAY, miner=miner)
        if not rows_24h:
            return await self._silent_miner(miner, now_ms)
        rows_10m = await window_rows(self._db, now_ms, TEN_MINUTES, miner=miner)
        rejects = await rejects_24h(self._db, now_ms, miner)
        return miner_stats(miner, rows_10m, rows_24h, rejects.get(miner, []), now_ms)

    async def _silent_miner(self, miner: str, now_ms: int) -> MinerStats:
        """A miner without a share in the last 24 h: zeros and its last share, or NotFound if it never sent one."""
        workers = await self._workers_ever(miner)
        return MinerStats(
            address=miner, hashrate=0.0, hashrate_24h=0.0, workers=0, shares=ShareCounts(accepted=0, rejected=0, stale=0),
            balance=0.0, paid=0.0, last_share=from_ms(max(w[1] for w in workers)), workers_24h=0,
            hashrate_10m=summarise([], TEN_MINUTES), hashrate_24h_detail=summarise([], DAY), rejects_24h=[],
            updated_at=from_ms(now_ms),
        )

    async def workers(self, address: str) -> list[WorkerStats]:
        """Every worker the miner ever used, by name (NotFound if it never sent a share)."""
        miner = require_address(address)
        found = self._workers.get(miner)
        if found is None:
            found = await self.read_workers(miner)
            self._workers.put(miner, found)
        return found

    async def read_workers(self, miner: str) -> list[WorkerStats]:
        now_ms = to_ms(self._clock.now())
        workers = await self._workers_ever(miner)
        rows_10m = await window_rows(self._db, now_ms, TEN_MINUTES, miner=miner)
        rows_24h = await window_rows(self._db, now_ms, DAY, miner=miner)
        rates_10m = rates(rows_10m, TEN_MINUTES, now_ms, lambda r: r.worker)
        rates_24h = rates(rows_24h, DAY, now_ms, lambda r: r.worker)
        counts = group(rows_24h, lambda r: r.worker)
        registered = await self._registered(miner)
        temperatures = await self._temperatures(miner, now_ms)
        listed = []
        for name, last_ms, hardware, accepted_ms in workers:
            ten, day = rates_10m.get(name, []), rates_24h.get(name, [])
            algorithms = {r.algorithm for r in ten + day}
            rows = counts.get(name, [])
            shares = ShareCounts(accepted=sum(r.accepted for r in rows), rejected=sum(r.rejected for r in rows),
                                 stale=sum(r.stale for r in rows))
            listed.append(WorkerStats(
                name=name, hashrate=summed(ten), shares_accepted=shares.accepted,
                shares_rejected=shares.rejected, last_share=from_ms(last_ms),
                status="online" if online(accepted_ms, now_ms) else "offline", registered=name in registered,
                hardware=hardware_class(hardware), hashrate_24h=summed(day), shares_stale=shares.stale,
                hashrate_10m=summarise(ten, TEN_MINUTES, algorithms), hashrate_24h_detail=summarise(day, DAY, algorithms),
                shares_24h=shares, temperature=temperatures.get(name, (None, None))[0],
                temperature_max=temperatures.get(name, (None, None))[1],
            ))
        return listed

    async def _temperatures(self, miner: str, now_ms: int) -> dict[str, tuple[float | None, float | None]]:
        """Worker -> (mean, max) °C over its devices, 2 decimals; absent: none of its devices reported one."""
        rows = await self._db.rows(_TEMPERATURES, {"miner": miner, "since_ms": TEN_MINUTES.start_ms(now_ms)})
        return {str(w): (round(float(mean), 2), round(float(hottest), 2)) for w, mean, hottest in rows
                if mean is not None}

    async def _workers_ever(self, miner: str) -> list[tuple[str, int, str, int]]:
        """(worker, last share ms, hardware, last accepted share ms) of every worker of `miner`; NotFound if
        it never sent a share."""
        rows = await self._db.rows(_WORKERS_EVER, {"miner": miner})
        if not rows:
            raise NotFound(f"no shares from miner {miner}", details={"address": miner})
        return [(str(w), int(last_ms), str(hw), int(acc_ms)) for w, last_ms, hw, acc_ms in rows]

    async def _registered(self, miner: str) -> set[str]:
        """Names of the miner's workers in the registry (`workers` table, migration 0008); none if it is absent."""
        if not self._registry:
            self._registry = bool((await self._db.rows(_REGISTRY, {}))[0][0])
            if not self._registry:
                return set()
        return {str(name) for (name,) in await self._db.rows(_REGISTERED, {"miner": miner})}
