"""The series of GET /workers/{id}/metrics?hours=N: per step, the rig's device figures from `telemetry_1m`
(per minute summed or averaged over its devices, then averaged over the step's minutes) and its
pool-measured hashrate from the share buckets (`shares_1m` for steps under an hour, else `shares_1h`).

Both reads filter on the tables' sort keys (miner, worker, then time; the buckets' algorithm IN the known
ones). Every step of the range is listed, oldest first; a step without readings has nulls and 0 shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.dto.hardware import MetricsPoint
from api.errors import InvalidRequest
from api.services.db import Db
from api.services.windows import from_ms
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate

MAX_HOURS = 24 * 90

_TELEMETRY = (
    "SELECT toUnixTimestamp(toStartOfInterval(minute, INTERVAL {step:UInt32} SECOND)) * 1000 AS b, avg(h), avg(t), "
    "max(tm), avg(fr), avg(fp), avg(p), avg(u), avg(mem), sum(e), sum(n) FROM (SELECT minute, "
    "sum(hashrate_avg) AS h, avg(temperature_avg) AS t, max(temperature_max) AS tm, avg(fan_rpm_avg) AS fr, "
    "avg(fan_pct_avg) AS fp, sum(power_avg_w) AS p, avg(utilization_avg) AS u, sum(memory_used_avg) AS mem, "
    "sum(hardware_errors) AS e, sum(readings) AS n FROM telemetry_1m FINAL WHERE miner = {miner:String} "
    "AND worker = {worker:String} AND minute >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') "
    "AND minute < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC') GROUP BY minute) GROUP BY b"
)
_SHARES = (
    "SELECT toUnixTimestamp(toStartOfInterval(bucket, INTERVAL {step:UInt32} SECOND)) * 1000 AS b, algorithm, "
    "sum(sum_difficulty), sum(accepted), sum(rejected) + sum(stale) FROM {table} "
    "WHERE algorithm IN {known:Array(String)} AND miner = {miner:String} AND worker = {worker:String} "
    "AND bucket >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') "
    "AND bucket < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC') GROUP BY b, algorithm"
)


def step_seconds(hours: int) -> int:
    """60 s up to 6 h, 5 min up to 48 h, 1 h beyond (at most ~720 points)."""
    return 60 if hours <= 6 else 300 if hours <= 48 else 3600


def _opt(x: Any) -> float | None:
    return None if x is None else float(x)


async def worker_series(db: Db, miner: str, worker: str, now_ms: int, hours: int) -> tuple[int, list[MetricsPoint]]:
    """(step, points) of the last `hours` of closed steps ending at the current step's start."""
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidRequest(f"hours must be in 1..{MAX_HOURS}", details={"hours": hours})
    step = step_seconds(hours)
    step_ms = step * 1000
    to_ms = now_ms // step_ms * step_ms
    from_ms_ = to_ms - hours * 3_600_000
    params = {"step": step, "miner": miner, "worker": worker, "from_ms": from_ms_, "to_ms": to_ms,
              "known": list(ALGORITHM_NAMES)}
    telemetry = {int(r[0]): r for r in await db.rows(_TELEMETRY, params)}
    table = "shares_1m" if step < 3600 else "shares_1h"
    shares: dict[int, list[float]] = {}
    for b, algorithm, difficulty, accepted, rejected in await db.rows(_SHARES.replace("{table}", table), params):
        acc = shares.setdefault(int(b), [0.0, 0, 0])
        acc[0] += hashrate(float(difficulty), step, Algorithm.parse(str(algorithm)))
        acc[1] += int(accepted)
        acc[2] += int(rejected)
    return step, [_point(b, telemetry.get(b), shares.get(b, [0.0, 0, 0])) for b in range(from_ms_, to_ms, step_ms)]


def _point(b: int, tel: Sequence[Any] | None, work: list[float]) -> MetricsPoint:
    t = tel if tel is not None else (None,) * 11
    return MetricsPoint(
        timestamp=from_ms(b), reported_hashrate=_opt(t[1]), measured_hashrate=float(work[0]),
        temperature_avg=_opt(t[2]), temperature_max=_opt(t[3]), fan_rpm=_opt(t[4]), fan_pct=_opt(t[5]),
        power_w=_opt(t[6]), utilization=_opt(t[7]), memory_used_mb=_opt(t[8]),
        hardware_errors=None if t[9] is None else int(t[9]), accepted_shares=int(work[1]),
        rejected_shares=int(work[2]), readings=int(t[10] or 0))
