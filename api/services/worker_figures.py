"""Live figures of registered workers from the tables the pipeline fills: 10-minute hashrate per algorithm
(THE hashrate computation, `api.services.hashrate`), online (an accepted share in the last 10 minutes),
last share (`shares_1d`, kept forever) and mean GPU utilization of the last readings (`telemetry`, 10 min).

Reads use the tables' keys: one hashrate query per distinct address (a page of workers has few), one
query each for last shares and telemetry over the page's addresses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.services.db import Db
from api.services.hashrate import rates, window_rows
from api.services.windows import TEN_MINUTES, from_ms, to_ms

_LAST = (
    "SELECT miner, worker, toUnixTimestamp64Milli(max(last_ts)) "
    "FROM shares_1d WHERE miner IN {miners:Array(String)} AND worker IN {workers:Array(String)} "
    "GROUP BY miner, worker"
)
_GPU = (
    "SELECT miner, worker, avg(u) FROM (SELECT miner, worker, device_id, argMax(utilization_pct, ts) AS u "
    "FROM telemetry WHERE miner IN {miners:Array(String)} AND worker IN {workers:Array(String)} "
    "AND device_class = 'GPU' AND ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') "
    "GROUP BY miner, worker, device_id) WHERE u IS NOT NULL GROUP BY miner, worker"
)


@dataclass(frozen=True)
class Figures:
    hashrates: dict[str, float] = field(default_factory=dict)  # algorithm -> H/s over 10 minutes
    online: bool = False
    last_share: dt.datetime | None = None
    gpu_utilization: float | None = None


async def live_figures(db: Db, now: dt.datetime, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
    """(address, worker name) -> its figures, for the pairs that ever mined or reported telemetry."""
    if not pairs:
        return {}
    now_ms = to_ms(now)
    miners = sorted({a for a, _ in pairs})
    names = sorted({w for _, w in pairs})
    wanted = set(pairs)
    since_ms = TEN_MINUTES.start_ms(now_ms)
    hashrates: dict[tuple[str, str], dict[str, float]] = {}
    online: set[tuple[str, str]] = set()
    for miner in miners:
        rows = [r for r in await window_rows(db, now_ms, TEN_MINUTES, miner=miner) if (r.miner, r.worker) in wanted]
        online |= {(r.miner, r.worker) for r in rows if r.last_accepted_ms >= since_ms}
        for pair, per_algorithm in rates(rows, TEN_MINUTES, now_ms, lambda r: (r.miner, r.worker)).items():
            hashrates[pair] = {rate.algorithm: rate.hashrate for rate in per_algorithm}
    last: dict[tuple[str, str], int] = {}
    for miner, worker, last_ms in await db.rows(_LAST, {"miners": miners, "workers": names}):
        last[(str(miner), str(worker))] = int(last_ms)
    gpu: dict[tuple[str, str], float] = {}
    params = {"miners": miners, "workers": names, "since_ms": since_ms}
    for miner, worker, utilization in await db.rows(_GPU, params):
        gpu[(str(miner), str(worker))] = round(float(utilization), 2)
    found: dict[tuple[str, str], Figures] = {}
    for pair in wanted & (set(hashrates) | set(last) | set(gpu)):
        last_ms = last.get(pair, 0)
        found[pair] = Figures(
            hashrates=hashrates.get(pair, {}),
            online=pair in online,
            last_share=from_ms(last_ms) if last_ms > 0 else None,
            gpu_utilization=gpu.get(pair),
        )
    return found
