"""Simulated hardware telemetry, consistent with the simulated shares: every worker reports one reading
every `TICK_MS` of simulated time (each at its own phase), as a device of its hardware hint's class, with
its true hashrate (times its failing-rig multiplier, `rigs.RateProfile`) and class-typical temperature, fan,
power (the class's efficiency for the algorithm), voltage, clocks and counters, with a little noise.

Failing rigs (`rigs.FailingRig`) show it: `hot_gpu` heats linearly from its onset to past its class's
throttle limit, then throttles (hashrate × `THROTTLED`, lower clock and power); `fan_failure` reports 0 rpm
from its onset while heating; `offline` stops reporting at its onset; `unprofitable` draws
`UNPROFITABLE_POWER` × its class's power. Readings go out per slice of the share generator, grouped by the
partition their miner's address hashes to (one device's readings stay on one partition, in order).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from bus.publisher import partition_of
from schemas.algorithms import Algorithm
from schemas.telemetry import TELEMETRY_SCHEMA, TelemetryReading, encode_arrow, encode_telemetry
from sources.simulate.fleet import ASIC, CPU, GPU, PROFILES, Fleet
from sources.simulate.rigs import UNPROFITABLE_POWER, FailingRig, RateProfile

TICK_MS = 30_000


@dataclass(frozen=True)
class ClassProfile:
    name: str  # device_class on the wire
    model: str
    temperature_c: float  # typical
    limit_c: float  # throttle limit
    fan_rpm: float
    power_w: float  # at the algorithm's median hashrate for the class (ASICs: `ASIC_POWER`)
    max_power_w: float  # never reported above (the class's range)
    voltage: float
    core_clock_mhz: float
    memory_clock_mhz: float
    errors_per_hour: float


CLASSES = {
    CPU: ClassProfile("CPU", "sim-cpu-16c", 62.0, 95.0, 1_800.0, 120.0, 1_500.0, 1.2, 4_200.0, 3_200.0, 0.0),
    GPU: ClassProfile("GPU", "sim-gpu-12gb", 64.0, 85.0, 2_200.0, 200.0, 1_800.0, 0.85, 1_500.0, 7_000.0, 0.5),
    ASIC: ClassProfile("ASIC", "sim-asic", 68.0, 90.0, 5_600.0, 1_500.0, 20_000.0, 13.0, 600.0, 0.0, 6.0),
}
#: An ASIC's power at the algorithm's median ASIC hashrate (PROFILES): ~17.5 J/TH for SHA256d, ~0.4 J/MH scrypt.
ASIC_POWER = {Algorithm.SHA256D: 1_750.0, Algorithm.SCRYPT: 400.0}
HEAT_OVER_LIMIT_C = 8.0  # how far past its limit a failing rig's temperature ends


class TelemetrySimulator:
    """Readings of a fleet's workers over a window, slice by slice, from one seeded generator."""

    def __init__(self, fleet: Fleet, failing: list[FailingRig], rng: np.random.Generator, start_ms: int,
                 end_ms: int, partitions: int) -> None:
        self.fleet, self.failing, self.rng = fleet, failing, rng
        self.start_ms, self.end_ms = start_ms, end_ms
        self.profile = RateProfile.of(failing)
        size = fleet.size
        self.phase = (np.arange(size, dtype=np.int64) * 7_919) % TICK_MS
        cls = fleet.worker_class
        median = np.array([PROFILES[a].median_hashrate for a in fleet.algorithms])[fleet.worker_algorithm, cls]
        typical = np.array([CLASSES[int(c)].power_w for c in cls])
        asic_power = np.array([ASIC_POWER.get(a, CLASSES[ASIC].power_w) for a in fleet.algorithms])
        typical = np.where(cls == ASIC, asic_power[fleet.worker_algorithm], typical)
        self.power = typical * fleet.worker_hashrate / median  # the class's efficiency at this hashrate
        self.temperature = np.array([CLASSES[int(c)].temperature_c for c in cls]) + rng.normal(0, 1.5, size)
        self.uptime0 = rng.integers(3_600, 30 * 86_400, size)
        self.kind = np.full(size, "", dtype=object)
        self.onset = np.full(size, end_ms, dtype=np.int64)
        self.limit = np.full(size, end_ms, dtype=np.int64)
        for rig in failing:
            self.kind[rig.worker], self.onset[rig.worker], self.limit[rig.worker] = rig.kind, rig.onset_ms, rig.limit_ms
        self.power[self.kind == "unprofitable"] *= UNPROFITABLE_POWER
        self.max_power = np.array([CLASSES[int(c)].max_power_w for c in cls])
        groups = np.array([partition_of(a, partitions) for a in fleet.addresses], dtype=np.int64)
        self.group = groups[fleet.worker_miner]
        self.group_key = {int(g): fleet.addresses[m].encode() for m, g in reversed(list(enumerate(groups.tolist())))}
        self.readings = 0

    def times(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(worker, ts) of the readings due in [lo, hi), an offline rig's stopping at its onset."""
        first = -((self.start_ms + self.phase - lo) // TICK_MS)  # ceil((lo - start - phase) / TICK)
        first = np.maximum(first, 0)
        last = -((self.start_ms + self.phase - min(hi, self.end_ms)) // TICK_MS)
        counts = np.maximum(last - first, 0)
        worker = np.repeat(np.arange(self.fleet.size, dtype=np.int64), counts)
        offsets = np.arange(len(worker)) - np.repeat(np.cumsum(counts) - counts, counts)
        ts = self.start_ms + self.phase[worker] + (np.repeat(first, counts) + offsets) * TICK_MS
        keep = ~((self.kind[worker] == "offline") & (ts >= self.onset[worker]))
        return worker[keep], ts[keep]

    def batch(self, lo: int, hi: int) -> tuple[np.ndarray, pa.RecordBatch]:
        """The readings due in [lo, hi): their workers, and the readings as one record batch
        (`TELEMETRY_SCHEMA`), in (worker, ts) order."""
        fleet, rng = self.fleet, self.rng
        worker, ts = self.times(lo, hi)
        n = len(worker)
        cls = fleet.worker_class[worker]
        kind = self.kind[worker]
        m = self.profile.multiplier(worker, ts)
        throttled = m < 1.0
        heating = np.isin(kind, ("hot_gpu", "fan_failure")) & (ts >= self.onset[worker])
        limit = np.array([CLASSES[int(c)].limit_c for c in range(3)])[cls]
        base = self.temperature[worker]
        span = np.maximum(self.limit[worker] - self.onset[worker], 1)
        climb = np.where(kind == "hot_gpu", np.clip((ts - self.onset[worker]) / span, 0, 1),
                         np.clip((ts - self.onset[worker]) / max(self.end_ms - self.start_ms, 1) * 2, 0, 1))
        hot = base + (limit + HEAT_OVER_LIMIT_C - base) * climb
        temperature = np.where(heating, hot, base) + rng.normal(0, 0.5, n)
        fan = np.array([CLASSES[int(c)].fan_rpm for c in range(3)])[cls] * (1 + rng.normal(0, 0.01, n))
        fan = np.where((kind == "fan_failure") & heating, 0.0, np.where(kind == "hot_gpu", fan * 1.3, fan))
        power = self.power[worker] * np.where(throttled, 0.5 + 0.5 * m, 1.0) * (1 + rng.normal(0, 0.01, n))
        elapsed_s = (ts - self.start_ms) // 1000
        errors_per_s = np.array([CLASSES[int(c)].errors_per_hour for c in range(3)])[cls] / 3600
        clock = np.array([CLASSES[int(c)].core_clock_mhz for c in range(3)])[cls] * np.where(throttled, 0.65, 1.0)
        memory_clock = np.array([CLASSES[int(c)].memory_clock_mhz for c in range(3)])[cls]
        is_gpu = cls == GPU
        columns = {
            "ts": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "miner": pa.array([fleet.addresses[i] for i in fleet.worker_miner[worker].tolist()], type=pa.string()),
            "worker": pa.array([fleet.worker_names[i] for i in fleet.worker_number[worker].tolist()], type=pa.string()),
            "device_class": pa.array([CLASSES[int(c)].name for c in cls.tolist()], type=pa.string()),
            "device_id": pa.repeat(pa.scalar("0", pa.string()), n),
            "model": pa.array([CLASSES[int(c)].model for c in cls.tolist()], type=pa.string()),
            "hashrate": pa.array(fleet.worker_hashrate[worker] * m * (1 + rng.normal(0, 0.02, n)).clip(0.5)),
            "temperature_c": pa.array(np.round(temperature, 1)),
            "fan_rpm": pa.array(np.round(fan)),
            "fan_pct": pa.nulls(n, pa.float64()),
            "power_w": pa.array(np.round(np.minimum(power, self.max_power[worker]), 1)),
            "voltage": pa.array(np.array([CLASSES[int(c)].voltage for c in range(3)])[cls]),
            "core_clock_mhz": pa.array(np.round(clock)),
            "memory_clock_mhz": pa.array(np.where(memory_clock > 0, memory_clock, np.nan), from_pandas=True),
            "utilization_pct": pa.array(np.where(is_gpu, np.where(throttled, 70.0, 99.0), np.nan), from_pandas=True),
            "memory_used_mb": pa.array(np.where(is_gpu, 4_096.0, np.nan), from_pandas=True),
            "hardware_errors": pa.array((elapsed_s * errors_per_s).astype(np.int64)),
            "uptime_s": pa.array(self.uptime0[worker] + elapsed_s),
        }
        self.readings += n
        return worker, pa.RecordBatch.from_arrays([columns[f.name] for f in TELEMETRY_SCHEMA], schema=TELEMETRY_SCHEMA)

    def messages(self, lo: int, hi: int, encoding: str, per_message: int) -> Iterator[tuple[bytes, bytes]]:
        """(key, message) of the readings due in [lo, hi): one partition group's readings per message, at most
        `per_message` each; Arrow IPC, or a JSON array for `encoding="json"`."""
        worker, batch = self.batch(lo, hi)
        if not batch.num_rows:
            return
        groups = self.group[worker]
        order = np.argsort(groups, kind="stable")  # a device's readings keep their time order
        grouped, sorted_groups = batch.take(pa.array(order)), groups[order]
        cuts = np.flatnonzero(np.diff(sorted_groups)) + 1
        for start, end in zip([0, *cuts.tolist()], [*cuts.tolist(), len(order)], strict=True):
            for offset in range(start, end, per_message):
                part = grouped.slice(offset, min(per_message, end - offset))
                yield self.group_key[int(sorted_groups[start])], _encode(part, encoding)


def _encode(batch: pa.RecordBatch, encoding: str) -> bytes:
    if encoding == "arrow":
        return encode_arrow(batch)
    rows = batch.to_pylist()
    readings = [TelemetryReading(**{**r, "ts": int(r["ts"].timestamp() * 1000)}) for r in rows]
    return b"[" + b",".join(encode_telemetry(r) for r in readings) + b"]"

