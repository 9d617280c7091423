"""The hardware mix of the pool (/monitoring/hardware, `hardware_stats` of /stats), per class CPU/GPU/ASIC.

A worker's class is the hint of its latest share in the last 24 h (the miner software's user agent).
`count`: workers with accepted work in the last 24 h; `total_hashrate`: the class's 10-minute hashrate (the
class is the entity of `api.services.hashrate`), summed over algorithms; temperature and power: the latest
telemetry reading of each device of the class in the last 10 minutes (mean °C, total W), null without any.
Issue 10 adds, from the same readings, the class's efficiency per algorithm and the `by_algorithm` rollup
(`api.services.hardware_rollup`).
"""

from __future__ import annotations

import datetime as dt

from api.dto.blocks import HardwareClassStats, HardwareReport
from api.dto.pool import HardwareCounts
from api.services.db import Db
from api.services.hardware_rollup import (
    RigReading,
    by_algorithm,
    class_efficiency,
    mean_temperature,
    power,
    rig_algorithms,
)
from api.services.hashrate import BucketRow, rates, summed
from api.services.windows import TEN_MINUTES
from schemas.hardware import hardware_class

# Per rig: the latest reading of each of its devices in the last 10 minutes, summed (power, hashrate) or
# summed with a count (temperature, for the mean over devices).
_TELEMETRY = (
    "SELECT miner, worker, any(cls), sum(t), count(t), sum(p), sum(h), count() FROM ("
    "SELECT miner, worker, lower(device_class) AS cls, argMax(temperature_c, ts) AS t, argMax(power_w, ts) AS p, "
    "argMax(hashrate, ts) AS h FROM telemetry WHERE ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') "
    "GROUP BY miner, worker, device_class, device_id) GROUP BY miner, worker"
)
CLASSES = ("cpu", "gpu", "asic", "unknown")


def worker_classes(rows_24h: list[BucketRow]) -> dict[tuple[str, str], str]:
    """(miner, worker) -> class, from the hint of its latest share in the window."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for row in rows_24h:
        key = (row.miner, row.worker)
        if key not in latest or row.last_ms > latest[key][0]:
            latest[key] = (row.last_ms, row.hardware)
    return {key: hardware_class(hint.lower()) for key, (_, hint) in latest.items()}


def class_counts(rows_24h: list[BucketRow], classes: dict[tuple[str, str], str]) -> HardwareCounts:
    """Workers with accepted work in the window, per class."""
    mining = {(r.miner, r.worker) for r in rows_24h if r.accepted > 0}
    counts = dict.fromkeys(CLASSES, 0)
    for key in mining:
        counts[classes.get(key, "unknown")] += 1
    return HardwareCounts(cpu=counts["cpu"], gpu=counts["gpu"], asic=counts["asic"], unknown=counts["unknown"])


async def hardware_report(
    db: Db, now_ms: int, rows_10m: list[BucketRow], rows_24h: list[BucketRow], at: dt.datetime
) -> tuple[HardwareCounts, HardwareReport]:
    classes = worker_classes(rows_24h)
    counts = class_counts(rows_24h, classes)
    by_class = rates(rows_10m, TEN_MINUTES, now_ms, lambda r: classes.get((r.miner, r.worker), "unknown"))
    rigs = [RigReading(str(m), str(w), hardware_class(str(c)), float(t or 0.0), int(nt),
                       None if p is None else float(p), None if h is None else float(h), int(n))
            for m, w, c, t, nt, p, h, n in await db.rows(_TELEMETRY, {"since_ms": TEN_MINUTES.start_ms(now_ms)})]
    algorithms = rig_algorithms(rows_10m, rows_24h)

    def stats(cls: str) -> HardwareClassStats:
        mine = [r for r in rigs if r.cls == cls]
        temperature, watts = mean_temperature(mine), power(mine)
        return HardwareClassStats(
            count=getattr(counts, cls),
            total_hashrate=summed(by_class.get(cls, [])),
            avg_temperature=None if temperature is None else round(temperature, 2),
            power_consumption=watts,
            devices_reporting=sum(r.devices for r in mine),
            efficiency=class_efficiency(mine, algorithms),
        )

    report = HardwareReport(cpu_miners=stats("cpu"), gpu_miners=stats("gpu"), asic_miners=stats("asic"),
                            unknown=stats("unknown"), updated_at=at,
                            by_algorithm=by_algorithm(rows_10m, now_ms, rigs, algorithms))
    return counts, report
