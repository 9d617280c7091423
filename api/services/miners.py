"""One miner's figures: /miners/{address} (totals, rejects by reason) and /miners/{address}/workers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from api.dto.common import ReasonCount, ShareCounts
from api.dto.miners import MinerStats, MinerWorkers, WorkerCounts, WorkerStats
from api.errors import NotFound
from api.services.db import Db
from api.services.hashrate import WindowRate, summarise, window_hashrates
from api.services.windows import BUCKETS, DAY, TEN_MINUTES, from_ms, to_ms
from api.validation import require_address
from schemas.clock import Clock
from schemas.hardware import HARDWARE_CLASSES

# shares_1d is kept forever: it knows every worker a miner ever had and its last share.
_WORKERS_EVER = (
    "SELECT worker, toUnixTimestamp64Milli(max(last_ts)), lower(argMax(hardware, last_ts)), "
    "toUnixTimestamp64Milli(max(last_accepted_ts)) "
    "FROM shares_1d WHERE miner = {miner:String} GROUP BY worker ORDER BY worker"
)
_COUNTS_24H = (
    "SELECT worker, sum(accepted), sum(rejected), sum(stale) FROM shares_1h "
    "WHERE miner = {miner:String} AND " + BUCKETS + " GROUP BY worker"
)
# Same aligned start as the 24 h counts, so the reasons add up to rejected + stale.
_REJECTS_24H = (
    "SELECT reason, sum(shares) AS n FROM share_rejects_1m WHERE miner = {miner:String} AND "
    + BUCKETS
    + " GROUP BY reason ORDER BY n DESC, reason"
)


class MinerService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def miner(self, address: str) -> MinerStats:
        miner = require_address(address)
        now_ms = to_ms(self._clock.now())
        workers = await self._workers_ever(miner)
        rates_10m = await window_hashrates(self._db, now_ms, TEN_MINUTES, miner=miner)
        rates_24h = await window_hashrates(self._db, now_ms, DAY, miner=miner)
        counts = await self._counts_24h(miner, now_ms)
        rejects = await self._db.rows(_REJECTS_24H, {"miner": miner, **DAY.params(now_ms)})
        algorithms = {r.algorithm for r in rates_24h} | {r.algorithm for r in rates_10m}
        return MinerStats(
            address=miner,
            hashrate_10m=summarise(rates_10m, TEN_MINUTES, algorithms),
            hashrate_24h=summarise(rates_24h, DAY, algorithms),
            workers=WorkerCounts(
                active=sum(1 for *_, accepted_ms in workers if _online(accepted_ms, now_ms)), total_24h=len(counts)
            ),
            shares_24h=_add(counts.values()),
            rejects_24h=[ReasonCount(reason=str(reason), shares=int(n)) for reason, n in rejects],
            last_share=from_ms(max(w[1] for w in workers)),
        )

    async def workers(self, address: str) -> MinerWorkers:
        miner = require_address(address)
        now_ms = to_ms(self._clock.now())
        workers = await self._workers_ever(miner)
        rates_10m = _by_worker(
            await window_hashrates(self._db, now_ms, TEN_MINUTES, miner=miner, by_worker=True)
        )
        rates_24h = _by_worker(await window_hashrates(self._db, now_ms, DAY, miner=miner, by_worker=True))
        counts = await self._counts_24h(miner, now_ms)
        listed = []
        for name, last_ms, hardware, accepted_ms in workers:
            algorithms = {r.algorithm for r in rates_10m[name] + rates_24h[name]}
            listed.append(
                WorkerStats(
                    name=name,
                    hashrate_10m=summarise(rates_10m[name], TEN_MINUTES, algorithms),
                    hashrate_24h=summarise(rates_24h[name], DAY, algorithms),
                    shares_24h=counts.get(name, ShareCounts(accepted=0, rejected=0, stale=0)),
                    last_share=from_ms(last_ms),
                    hardware=hardware if hardware in HARDWARE_CLASSES else "unknown",
                    online=_online(accepted_ms, now_ms),
                )
            )
        return MinerWorkers(address=miner, workers=listed)

    async def _workers_ever(self, miner: str) -> list[tuple[str, int, str, int]]:
        """(worker, last share ms, hardware, last accepted share ms) of every worker of `miner`; NotFound if
        it never sent a share."""
        rows = await self._db.rows(_WORKERS_EVER, {"miner": miner})
        if not rows:
            raise NotFound(f"no shares from miner {miner}", details={"address": miner})
        return [(str(w), int(last_ms), str(hw), int(acc_ms)) for w, last_ms, hw, acc_ms in rows]

    async def _counts_24h(self, miner: str, now_ms: int) -> dict[str, ShareCounts]:
        rows = await self._db.rows(_COUNTS_24H, {"miner": miner, **DAY.params(now_ms)})
        return {str(w): ShareCounts(accepted=int(a), rejected=int(r), stale=int(s)) for w, a, r, s in rows}


def _online(last_accepted_ms: int, now_ms: int) -> bool:
    """Online = contributed accepted work in the last 10 minutes (a stream of rejects is not mining)."""
    return last_accepted_ms >= TEN_MINUTES.start_ms(now_ms)


def _add(counts: Iterable[ShareCounts]) -> ShareCounts:
    items = list(counts)
    return ShareCounts(
        accepted=sum(c.accepted for c in items),
        rejected=sum(c.rejected for c in items),
        stale=sum(c.stale for c in items),
    )


def _by_worker(rates: list[WindowRate]) -> defaultdict[str, list[WindowRate]]:
    grouped: defaultdict[str, list[WindowRate]] = defaultdict(list)
    for rate in rates:
        grouped[rate.worker].append(rate)
    return grouped
