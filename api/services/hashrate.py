"""THE hashrate computation of the API: every pool, miner, worker and hardware-class figure comes from
`window_rows` (one row per (miner, worker, algorithm) over a window) aggregated by `rates`.

For a window W ending at now and an entity (the pool, a miner, a worker, a hardware class): Σd over the
accepted work of its buckets in the window, and T = now - max(aligned window start, first share of the
entity in the window), so an entity that joined mid-window is measured over the time it was present
(DOMAIN.md); H = Σd·F/T with F of the algorithm, and 0 when there is no accepted share in the window.
The same rows serve the pool-wide snapshot (no miner filter) and one miner's read (`miner` filter on the
bucket tables' sort key `(algorithm, miner, worker, bucket)`), so both give the same figures.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from api.dto.common import AlgorithmHashrate, WindowHashrate
from api.services.db import Db
from api.services.windows import BUCKETS, Window
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class BucketRow:
    """The buckets of one (miner, worker, algorithm) in a window."""

    miner: str
    worker: str
    algorithm: str
    sum_difficulty: float  # accepted work
    first_ms: int  # first share (any status)
    last_ms: int  # last share (any status)
    last_accepted_ms: int  # 0 when none
    accepted: int
    rejected: int  # every reason except stale
    stale: int
    hardware: str  # the hint of the latest share


@dataclass(frozen=True, slots=True)
class WindowRate:
    """The hashrate of one entity on one algorithm over one window."""

    algorithm: str
    sum_difficulty: float
    seconds: float
    hashrate: float


_ROWS = (
    "SELECT miner, worker, algorithm, sum(sum_difficulty), toUnixTimestamp64Milli(min(first_ts)), "
    "toUnixTimestamp64Milli(max(last_ts)), toUnixTimestamp64Milli(max(last_accepted_ts)), "
    "sum(accepted), sum(rejected), sum(stale), argMax(hardware, last_ts) "
    "FROM {table} WHERE {buckets} {miner_filter} GROUP BY miner, worker, algorithm"
)


async def window_rows(db: Db, now_ms: int, window: Window, *, miner: str | None = None) -> list[BucketRow]:
    """The rows of `window` ending at `now_ms`: of the whole pool, or of one miner."""
    sql = _ROWS.format(
        table=window.table, buckets=BUCKETS, miner_filter="AND miner = {miner:String}" if miner is not None else ""
    )
    params: dict[str, object] = dict(window.params(now_ms))
    if miner is not None:
        params["miner"] = miner
    found = await db.rows(sql, params)
    if len(found) < 1000:
        return _bucket_rows(found)
    return await asyncio.to_thread(_bucket_rows, found)  # pool-wide: thousands of rows, off the event loop


def _bucket_rows(found: Sequence[Sequence[Any]]) -> list[BucketRow]:
    return [
        BucketRow(str(m), str(w), str(a), float(d), int(f), int(la), int(lacc), int(acc), int(rej), int(st), str(hw))
        for m, w, a, d, f, la, lacc, acc, rej, st, hw in found
    ]


def rates(rows: Iterable[BucketRow], window: Window, now_ms: int, key: Callable[[BucketRow], K]) -> dict[K, list[WindowRate]]:
    """Per entity (`key` of a row), its hashrate on each algorithm present in its rows. Algorithms not in
    `schemas.algorithms` (rejected as unknown upstream) carry no accepted work and are left out."""
    work: defaultdict[tuple[K, str], list[float]] = defaultdict(lambda: [0.0, float("inf")])
    for row in rows:
        if row.algorithm not in ALGORITHM_NAMES:
            continue
        acc = work[(key(row), row.algorithm)]
        acc[0] += row.sum_difficulty
        acc[1] = min(acc[1], row.first_ms)
    start_ms = window.aligned_start_ms(now_ms)
    out: defaultdict[K, list[WindowRate]] = defaultdict(list)
    for (entity, algorithm), (sum_difficulty, first_ms) in sorted(work.items(), key=lambda kv: kv[0][1]):
        seconds = (now_ms - max(start_ms, int(first_ms))) / 1000
        rate = hashrate(sum_difficulty, seconds, Algorithm.parse(algorithm))
        out[entity].append(WindowRate(algorithm, sum_difficulty, max(seconds, 0.0), rate))
    return out


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
    total = summed(listed) if len(listed) <= 1 else None
    return WindowHashrate(window_seconds=window.seconds, total=total, by_algorithm=listed)


def summed(rates: Iterable[WindowRate | AlgorithmHashrate]) -> float:
    """The sum over algorithms (the seed's `hashrate` numbers): a float, 0.0 for none, never null."""
    return sum((r.hashrate for r in rates), 0.0)


def group(rows: Iterable[BucketRow], key: Callable[[BucketRow], K]) -> dict[K, list[BucketRow]]:
    grouped: defaultdict[K, list[BucketRow]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return grouped
