"""The issue-10 parts of /monitoring/hardware: each class's efficiency per algorithm and the rollup by
algorithm, from each rig's latest telemetry (10 minutes) and the algorithm of its shares.

A rig's algorithm is the one with the most accepted work in its 10-minute rows (else its 24-hour rows); a
rig without shares has none and counts in no algorithm. Efficiency = Σ power / Σ reported hashrate of the
rigs reporting both, in J per the algorithm's unit (`kernels.rig_economics`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.dto.hardware import AlgorithmHardware, ClassEfficiency
from api.services.hashrate import BucketRow, rates, summed
from api.services.windows import TEN_MINUTES
from kernels.rig_economics import efficiency
from schemas.algorithms import ALGORITHM_NAMES


@dataclass(frozen=True, slots=True)
class RigReading:
    """One rig's latest readings over its devices: Σ temperature with its count, Σ power, Σ hashrate."""

    miner: str
    worker: str
    cls: str
    temperature_sum: float
    temperatures: int
    power_w: float | None
    hashrate: float | None
    devices: int


def rig_algorithms(rows_10m: Iterable[BucketRow], rows_24h: Iterable[BucketRow]) -> dict[tuple[str, str], str]:
    """(miner, worker) -> the algorithm of its most accepted work, 10-minute rows first."""
    found: dict[tuple[str, str], str] = {}
    for rows in (rows_10m, rows_24h):
        work: dict[tuple[str, str], tuple[float, str]] = {}
        for r in rows:
            key = (r.miner, r.worker)
            if r.algorithm in ALGORITHM_NAMES and key not in found and r.sum_difficulty > work.get(key, (-1.0, ""))[0]:
                work[key] = (r.sum_difficulty, r.algorithm)
        for key, (_, algorithm) in work.items():
            found.setdefault(key, algorithm)
    return found


def mean_temperature(rigs: Sequence[RigReading]) -> float | None:
    n = sum(r.temperatures for r in rigs)
    return sum(r.temperature_sum for r in rigs) / n if n else None


def power(rigs: Sequence[RigReading]) -> float | None:
    known = [r.power_w for r in rigs if r.power_w is not None]
    return float(sum(known)) if known else None


def _efficiency(rigs: Sequence[RigReading], algorithm: str) -> tuple[float | None, str | None, float, float, int]:
    both = [r for r in rigs if r.power_w and r.hashrate and r.power_w > 0 and r.hashrate > 0]
    watts = sum(r.power_w or 0.0 for r in both)
    rate = sum(r.hashrate or 0.0 for r in both)
    joules, unit = efficiency(watts, rate, algorithm)
    return joules, unit, watts, rate, len(both)


def class_efficiency(rigs: Sequence[RigReading], algorithms: dict[tuple[str, str], str]) -> list[ClassEfficiency]:
    """The efficiency of these rigs (one class) per algorithm, sorted by algorithm."""
    grouped: defaultdict[str, list[RigReading]] = defaultdict(list)
    for r in rigs:
        if (r.miner, r.worker) in algorithms:
            grouped[algorithms[(r.miner, r.worker)]].append(r)
    out = []
    for algorithm in sorted(grouped):
        joules, unit, watts, rate, n = _efficiency(grouped[algorithm], algorithm)
        out.append(ClassEfficiency(algorithm=algorithm, efficiency=joules, unit=unit, power_w=watts,
                                   reported_hashrate=rate, rigs=n))
    return out


def by_algorithm(rows_10m: list[BucketRow], now_ms: int, rigs: Sequence[RigReading],
                 algorithms: dict[tuple[str, str], str]) -> list[AlgorithmHardware]:
    """Per algorithm mined in the last 10 minutes or reported by a rig of it: workers, measured and reported
    hashrate, temperature, power and efficiency."""
    measured = rates(rows_10m, TEN_MINUTES, now_ms, lambda r: r.algorithm)
    workers: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in rows_10m:
        if r.accepted > 0 and r.algorithm in ALGORITHM_NAMES:
            workers[r.algorithm].add((r.miner, r.worker))
    grouped: defaultdict[str, list[RigReading]] = defaultdict(list)
    for rig in rigs:
        if (rig.miner, rig.worker) in algorithms:
            grouped[algorithms[(rig.miner, rig.worker)]].append(rig)
    out = []
    for algorithm in sorted(set(measured) | set(grouped)):
        mine = grouped.get(algorithm, [])
        reported = [r.hashrate for r in mine if r.hashrate is not None]
        joules, unit, _, _, _ = _efficiency(mine, algorithm)
        temperature = mean_temperature(mine)
        out.append(AlgorithmHardware(
            algorithm=algorithm, count=len(workers.get(algorithm, ())), total_hashrate=summed(measured.get(algorithm, [])),
            reported_hashrate=float(sum(reported)) if reported else None,
            avg_temperature=None if temperature is None else round(temperature, 2), power_consumption=power(mine),
            efficiency=joules, efficiency_unit=unit))
    return out
