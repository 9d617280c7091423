"""A miner's hashrate over time, read from the share rollups (never the raw shares): the web dashboard's chart.

Each point is one step of the range: H = Σ over algorithms of Σd·F/step, the step's own length (the last,
still running step is measured up to now, so the line does not dip at its end). Steps without shares are 0.
Ranges up to a day read the 1-minute buckets (`shares_1m`, 14 days kept), 30 days the hourly ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from api.services.db import Db
from api.services.windows import to_ms
from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.clock import Clock


@dataclass(frozen=True)
class SeriesRange:
    seconds: int
    table: str  # a constant of ours, never user input
    step_seconds: int


RANGES: dict[str, SeriesRange] = {
    "10m": SeriesRange(600, "shares_1m", 60),
    "1h": SeriesRange(3_600, "shares_1m", 60),
    "24h": SeriesRange(86_400, "shares_1m", 600),
    "30d": SeriesRange(30 * 86_400, "shares_1h", 21_600),
}

_SQL = (
    "SELECT toUnixTimestamp(toStartOfInterval(bucket, INTERVAL {{step:UInt32}} SECOND)) AS t, algorithm, "
    "sum(sum_difficulty) FROM {table} WHERE miner = {{miner:String}} "
    "AND bucket >= fromUnixTimestamp64Milli({{from_ms:Int64}}, 'UTC') "
    "AND bucket <= fromUnixTimestamp64Milli({{now_ms:Int64}}, 'UTC') GROUP BY t, algorithm"
)


class HashratePoint(msgspec.Struct, frozen=True, kw_only=True):
    t: int  # the step's start, Unix seconds UTC
    hashrate: float  # H/s, summed over algorithms


class HashrateSeries(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    range: str
    step_seconds: int
    points: list[HashratePoint]


class HashrateSeriesService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db, self._clock = db, clock

    async def series(self, address: str, range_name: str) -> HashrateSeries:
        spec = RANGES[range_name]
        now_ms = to_ms(self._clock.now())
        step_ms = spec.step_seconds * 1000
        first_ms = (now_ms - spec.seconds * 1000) // step_ms * step_ms + step_ms
        rows = await self._db.rows(_SQL.format(table=spec.table), {
            "step": spec.step_seconds, "miner": address, "from_ms": first_ms, "now_ms": now_ms})
        work: dict[int, float] = {}
        for t, algorithm, sum_difficulty in rows:
            known = _algorithm(str(algorithm))
            factor = HASHRATE_FACTOR[known] if known is not None else 0.0
            work[int(t)] = work.get(int(t), 0.0) + float(sum_difficulty) * factor
        points = []
        for start_ms in range(first_ms, now_ms + 1, step_ms):
            seconds = min(spec.step_seconds, max(1.0, (now_ms - start_ms) / 1000))
            points.append(HashratePoint(t=start_ms // 1000, hashrate=work.get(start_ms // 1000, 0.0) / seconds))
        return HashrateSeries(address=address, range=range_name, step_seconds=spec.step_seconds, points=points)


def _algorithm(wire: str) -> Algorithm | None:
    try:
        return Algorithm.parse(wire)
    except ValueError:  # an algorithm this build does not know: its rows add nothing
        return None
