"""THE hashrate computation of the API (pool, miner and worker endpoints all use `window_hashrates`).

For a window W ending at now: Σd over the accepted work of the buckets in the window, and
T = now - max(aligned window start, first share of the entity in the window), so an entity that joined
mid-window is measured over the time it was present (DOMAIN.md); H = Σd·F/T with F of the algorithm, and
0 when there is no accepted share in the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from api.dto.common import AlgorithmHashrate, WindowHashrate
from api.services.db import Db
from api.services.windows import BUCKETS, Window
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate


@dataclass(frozen=True)
class WindowRate:
    """The hashrate of one entity on one algorithm over one window."""

    algorithm: str
    worker: str  # "" unless grouped by worker
    sum_difficulty: float
    seconds: float
    hashrate: float


async def window_hashrates(
    db: Db, now_ms: int, window: Window, *, miner: str | None = None, by_worker: bool = False
) -> list[WindowRate]:
    """Hashrates over `window` ending at `now_ms`: of the pool (no miner), of one miner, or of each of its
    workers (`by_worker`), one row per (worker, algorithm) present in the window. Algorithms not in
    `schemas.algorithms` (rejected as unknown upstream) carry no accepted work and are left out."""
    worker_expr = "worker" if by_worker else "''"
    miner_filter = "AND miner = {miner:String}" if miner is not None else ""
    sql = (
        f"SELECT algorithm, {worker_expr} AS w, sum(sum_difficulty), toUnixTimestamp64Milli(min(first_ts)) "
        f"FROM {window.table} WHERE {BUCKETS} {miner_filter} "
        "AND algorithm IN {known:Array(String)} GROUP BY algorithm, w ORDER BY w, algorithm"
    )
    params: dict[str, object] = {**window.params(now_ms), "known": list(ALGORITHM_NAMES)}
    if miner is not None:
        params["miner"] = miner
    start_ms = window.aligned_start_ms(now_ms)
    rates = []
    for algorithm, worker, sum_difficulty, first_ms in await db.rows(sql, params):
        seconds = (now_ms - max(start_ms, int(first_ms))) / 1000
        rate = hashrate(float(sum_difficulty), seconds, Algorithm.parse(algorithm))
        rates.append(WindowRate(algorithm, worker, float(sum_difficulty), max(seconds, 0.0), rate))
    return rates


def summarise(rates: Iterable[WindowRate], window: Window, algorithms: Iterable[str] = ()) -> WindowHashrate:
    """One entity's rates as a response struct; `algorithms` it mined elsewhere (the other window) are
    listed with 0 so a silent entity reports 0, not its last value."""
    by_algorithm = {
        r.algorithm: AlgorithmHashrate(
            algorithm=r.algorithm, hashrate=r.hashrate, sum_difficulty=r.sum_difficulty, seconds=r.seconds
        )
        for r in rates
    }
    for name in algorithms:
        by_algorithm.setdefault(
            name, AlgorithmHashrate(algorithm=name, hashrate=0.0, sum_difficulty=0.0, seconds=0.0)
        )
    listed = [by_algorithm[name] for name in sorted(by_algorithm)]
    total = sum(a.hashrate for a in listed) if len(listed) <= 1 else None
    return WindowHashrate(window_seconds=window.seconds, total=total, by_algorithm=listed)
