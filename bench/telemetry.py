"""Telemetry speed (issue 10, target >= 200,000 readings/s on the Arrow path): readings/s through decode +
validation (the agent's `decode` + `prepare` on Arrow messages: stateless kernels, per-device history, row
building) and through aggregation (the 1-minute rollup over what was stored, in a throw-away chDB).

The fleet: `devices` GPUs/ASICs/CPUs reporting every 30 s, one Arrow message per round of the fleet, batches
of up to the agent's MAX_ROWS readings; a few readings are broken on purpose (spikes, counters going back,
out-of-class values) so every check has work. `python -m bench.telemetry` prints the figures; `run()` returns
them.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

from schemas.telemetry import DEVICE_CLASSES, TELEMETRY_SCHEMA, encode_arrow

MINER = "bc1qtelemetrybench0000000000000000000000"
T0 = 1_800_000_000_000
STEP_MS = 30_000


def fleet_messages(devices: int, rounds: int, seed: int = 5) -> list[tuple[int, bytes]]:
    """(published ms, Arrow message) per round: every device's reading at that round."""
    rng = np.random.default_rng(seed)
    classes = np.array(DEVICE_CLASSES, dtype=object)[np.arange(devices) % len(DEVICE_CLASSES)]
    is_asic = classes == "ASIC"
    base_temp = rng.uniform(55, 75, devices)
    base_power = np.where(is_asic, rng.uniform(2_500, 3_500, devices), rng.uniform(120, 300, devices))
    base_rate = np.where(is_asic, 1e14, 1e8) * rng.uniform(0.8, 1.2, devices)
    errors = rng.integers(0, 100, devices)
    names = {"miner": np.full(devices, MINER, dtype=object), "worker": np.array([f"rig{i // 8}" for i in range(devices)],
                                                                                 dtype=object),
             "device_class": classes, "device_id": np.array([str(i % 8) for i in range(devices)], dtype=object),
             "model": np.where(is_asic, "S21", "X1").astype(object)}
    out = []
    for r in range(rounds):
        ts = T0 + r * STEP_MS + rng.integers(0, 2_000, devices)
        temp = np.round(base_temp + rng.normal(0, 0.7, devices), 1)
        temp[rng.random(devices) < 0.002] += 40.0  # spikes
        power = base_power * rng.normal(1, 0.01, devices)
        power[rng.random(devices) < 0.001] = 30_000.0  # out of every class's range
        errors = errors + rng.integers(0, 2, devices)
        reported = errors - (rng.random(devices) < 0.001) * 5  # counters going back now and then
        arrays = {
            "ts": pa.array(ts).cast(pa.timestamp("ms", tz="UTC")), **{k: pa.array(v, pa.string()) for k, v in names.items()},
            "hashrate": pa.array(base_rate * rng.normal(1, 0.02, devices)), "temperature_c": pa.array(temp),
            "fan_rpm": pa.array(rng.normal(3_000, 50, devices).round()), "fan_pct": pa.array(np.full(devices, 60.0)),
            "power_w": pa.array(power), "hardware_errors": pa.array(reported.astype(np.int64)),
            "uptime_s": pa.array(np.full(devices, 10_000 + r * 30, np.int64)),
        }
        columns = [arrays.get(f.name, pa.nulls(devices, f.type)) for f in TELEMETRY_SCHEMA]
        out.append((T0 + r * STEP_MS + 2_000, encode_arrow(pa.RecordBatch.from_arrays(columns, schema=TELEMETRY_SCHEMA))))
    return out


def run(devices: int = 10_000, rounds: int = 100) -> dict[str, float]:
    from jobs.telemetry_rollup import MINUTE_MS, rollup
    from schemas.clock import FixedClock
    from sinks.client import ClickHouseSettings, connect
    from sinks.migrate import migrate
    from sinks.telemetry import TelemetryWriter
    from streams.offsets import OffsetRanges, RawMessage
    from streams.settings import StreamSettings
    from streams.telemetry import MAX_ROWS, TelemetryBatch, TelemetryIngest

    messages = [RawMessage("telemetry", 0, i, published, value)
                for i, (published, value) in enumerate(fleet_messages(devices, rounds))]
    per_batch = max(1, MAX_ROWS // devices)
    clock = FixedClock(dt.datetime.fromtimestamp((T0 + rounds * STEP_MS) / 1000, dt.UTC))
    # warm-up (load the cached kernels) on a throw-away agent
    warm = TelemetryIngest(StreamSettings(), None, clock)  # type: ignore[arg-type]
    warm.prepare(warm.decode(messages[:1]), OffsetRanges.of(messages[:1]))

    ingest = TelemetryIngest(StreamSettings(), None, clock)  # type: ignore[arg-type]
    prepared: list[tuple[TelemetryBatch, OffsetRanges]] = []
    started = time.perf_counter()
    for i in range(0, len(messages), per_batch):
        take = messages[i: i + per_batch]
        ranges = OffsetRanges.of(take)
        prepared.append((ingest.prepare(ingest.decode(take), ranges), ranges))
    validate_s = time.perf_counter() - started
    total = devices * rounds
    stored = sum(p.rows.num_rows for p, _ in prepared)
    flagged = sum(int(np.count_nonzero(p.rows.column("flags").to_numpy())) for p, _ in prepared)

    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as directory:
        client = connect(ClickHouseSettings(dsn=f"chdb://{directory}", database="bench"))
        try:
            migrate(client)
            writer = TelemetryWriter(client)
            started = time.perf_counter()
            for p, ranges in prepared:
                writer.write(p.rows, ranges.token("telemetry"))
            insert_s = time.perf_counter() - started
            start = T0 // MINUTE_MS * MINUTE_MS
            end = (T0 + rounds * STEP_MS) // MINUTE_MS * MINUTE_MS + MINUTE_MS
            started = time.perf_counter()
            rollup(client, start, end, clock.now_ms())
            rollup_s = time.perf_counter() - started
            buckets = int(client.command("SELECT count() FROM telemetry_1m FINAL"))
        finally:
            client.close()
    figures = {
        f"Arrow decode + validation, readings/s ({total:,} readings, {devices:,} devices)": total / validate_s,
        "stored readings": float(stored),
        "flagged readings": float(flagged),
        "rejected readings": float(total - stored),
        "INSERT into telemetry, readings/s": stored / insert_s,
        f"1-minute rollup, readings/s ({buckets:,} device-minutes)": stored / rollup_s,
    }
    for name, value in figures.items():
        print(f"telemetry {name}: {value:,.0f}")
    return figures


if __name__ == "__main__":
    run()
    sys.exit(0)
