"""Pool-wide figures: /stats (hashrate, activity, 24 h share counts, hardware mix) and /algorithms."""

from __future__ import annotations

from api.dto.common import ShareCounts
from api.dto.pool import AlgorithmCatalog, AlgorithmInfo, HardwareCounts, PoolStats
from api.services.db import Db
from api.services.hashrate import summarise, window_hashrates
from api.services.windows import BUCKETS, DAY, TEN_MINUTES, to_ms
from schemas.algorithms import ALGORITHM_NAMES, HASHRATE_FACTOR, Algorithm
from schemas.clock import Clock
from schemas.hardware import HARDWARE_CLASSES

_ACTIVE = (
    "SELECT uniqExact(miner), count() FROM (SELECT miner, worker FROM shares_1m WHERE "
    + BUCKETS
    # active = contributed accepted work in the window (a stream of only rejects is not mining)
    + " GROUP BY miner, worker HAVING max(last_accepted_ts) >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC'))"
)
_COUNTS = (
    "SELECT algorithm, sum(accepted), sum(rejected), sum(stale) FROM shares_1h WHERE "
    + BUCKETS
    + " GROUP BY algorithm ORDER BY algorithm"
)
_HARDWARE = (
    "SELECT lower(hw), count() FROM (SELECT argMax(hardware, last_ts) AS hw FROM shares_1h WHERE "
    + BUCKETS
    + " GROUP BY miner, worker HAVING sum(accepted) > 0) GROUP BY lower(hw)"
)


class PoolService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def stats(self) -> PoolStats:
        now_ms = to_ms(self._clock.now())
        counts = await self._db.rows(_COUNTS, DAY.params(now_ms))
        present = [str(a) for a, *_ in counts if a in ALGORITHM_NAMES]
        rates_10m = await window_hashrates(self._db, now_ms, TEN_MINUTES)
        rates_24h = await window_hashrates(self._db, now_ms, DAY)
        active = await self._db.rows(
            _ACTIVE, {**TEN_MINUTES.params(now_ms), "since_ms": TEN_MINUTES.start_ms(now_ms)}
        )
        hardware = {str(hw): int(n) for hw, n in await self._db.rows(_HARDWARE, DAY.params(now_ms))}
        return PoolStats(
            hashrate_10m=summarise(rates_10m, TEN_MINUTES, present),
            hashrate_24h=summarise(rates_24h, DAY, present),
            active_miners=int(active[0][0]),
            active_workers=int(active[0][1]),
            shares_24h=ShareCounts(
                accepted=sum(int(row[1]) for row in counts),
                rejected=sum(int(row[2]) for row in counts),
                stale=sum(int(row[3]) for row in counts),
            ),
            algorithms=present,
            hardware=HardwareCounts(
                cpu=hardware.get("cpu", 0),
                gpu=hardware.get("gpu", 0),
                asic=hardware.get("asic", 0),
                unknown=sum(n for hw, n in hardware.items() if hw not in HARDWARE_CLASSES),
            ),
        )

    async def algorithms(self) -> AlgorithmCatalog:
        rates = await window_hashrates(self._db, to_ms(self._clock.now()), TEN_MINUTES)
        current = {r.algorithm: r.hashrate for r in rates}
        return AlgorithmCatalog(
            algorithms=[
                AlgorithmInfo(
                    name=a.wire, hashrate_factor=HASHRATE_FACTOR[a], hashrate_10m=current.get(a.wire, 0.0)
                )
                for a in Algorithm
            ]
        )
