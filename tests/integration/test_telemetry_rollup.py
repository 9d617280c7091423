"""The 1-minute telemetry rollup on real chDB: raw readings in (through the agent's writer) -> `telemetry_1m`
buckets equal to a plain-Python computation of the same readings; replayed readings change nothing; a late
reading updates its minute when it is within the lookback, and a minute outside it is left alone."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from jobs.telemetry_rollup import MINUTE_MS, PREVIOUS_WITHIN_MS, TelemetryRollupJob, closed_minutes
from schemas.clock import FixedClock
from schemas.telemetry import TelemetryFlag, TelemetryReading, readings_to_batch
from sinks.telemetry import TelemetryWriter
from streams.offsets import RawMessage
from streams.telemetry import row_table

MINER = "bc1qexampleminer0000000000000000000000eeee"
NOW = dt.datetime(2027, 3, 4, 5, 30, 20, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
LOOKBACK = 15
FIGURES = ("readings", "flagged", "temperature_avg", "temperature_max", "power_avg_w", "hashrate_avg",
           "hardware_errors")


def readings(seed: int) -> list[tuple[TelemetryReading, int]]:
    """~20 minutes of two devices every ~20 s, some readings without counters or temperature, one reboot."""
    rng = random.Random(seed)
    out = []
    start = NOW_MS - 20 * MINUTE_MS
    for device in ("0", "1"):
        errors, ts = 100, start + rng.randint(0, 5_000)
        while ts < NOW_MS:
            errors += rng.randint(0, 3)
            flags = 0
            if device == "1" and abs(ts - (NOW_MS - 7 * MINUTE_MS)) < 10_000:
                errors, flags = rng.randint(0, 2), int(TelemetryFlag.COUNTER_RESET)  # a reboot
            out.append((TelemetryReading(
                ts=ts, miner=MINER, worker="rig1", device_class="GPU", device_id=device, model="RTX",
                temperature_c=rng.choice([None, round(rng.uniform(60, 80), 1)]), power_w=rng.uniform(150, 250),
                hashrate=rng.uniform(1e8, 2e8), hardware_errors=rng.choice([None, errors, errors])), flags))
            ts += rng.randint(15_000, 25_000)
    return out


def store(client: Client, items: list[tuple[TelemetryReading, int]], offset: int) -> None:
    table = pa.Table.from_batches([readings_to_batch([r for r, _ in items])])
    message = RawMessage("telemetry", 0, offset, NOW_MS, b"")
    rows = row_table(table, [message], np.array([len(items)]), NOW_MS, np.array([f for _, f in items], np.uint16))
    TelemetryWriter(client).write(rows, f"test:{offset}")


def expected(items: list[tuple[TelemetryReading, int]], start: int, end: int) -> dict[tuple[str, int], tuple[object, ...]]:
    """The rollup's rules, in plain Python."""
    by_device: dict[str, dict[int, tuple[TelemetryReading, int]]] = defaultdict(dict)
    for r, f in items:
        by_device[r.device_id][r.ts] = (r, f)  # replays collapse
    out = {}
    for device, series in by_device.items():
        minutes: dict[int, list[tuple[TelemetryReading, int, int | None]]] = defaultdict(list)
        previous: tuple[int, int] | None = None
        for ts in sorted(series):
            r, f = series[ts]
            added = None
            if r.hardware_errors is not None:
                if previous is None or ts - previous[0] > PREVIOUS_WITHIN_MS:
                    added = 0
                elif f & TelemetryFlag.COUNTER_RESET or r.hardware_errors < previous[1]:
                    added = r.hardware_errors
                else:
                    added = r.hardware_errors - previous[1]
                previous = (ts, r.hardware_errors)
            if start <= ts < end:
                minutes[ts // MINUTE_MS * MINUTE_MS].append((r, f, added))
        for minute, rows in minutes.items():
            temps = [r.temperature_c for r, _, _ in rows if r.temperature_c is not None]
            errors = [a for _, _, a in rows if a is not None]
            out[(device, minute)] = (
                len(rows), sum(1 for _, f, _ in rows if f), statistics.fmean(temps) if temps else None,
                max(temps) if temps else None, statistics.fmean(r.power_w or 0.0 for r, _, _ in rows),
                statistics.fmean(r.hashrate or 0.0 for r, _, _ in rows), sum(errors) if errors else None)
    return out


def buckets(client: Client) -> dict[tuple[str, int], tuple[object, ...]]:
    result = client.query(f"SELECT device_id, toUnixTimestamp(minute) * 1000, {', '.join(FIGURES)} "
                          "FROM telemetry_1m FINAL").result_rows
    return {(r[0], int(r[1])): tuple(r[2:]) for r in result}


def close(a: dict[tuple[str, int], tuple[object, ...]], b: dict[tuple[str, int], tuple[object, ...]]) -> bool:
    def same(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))
        return x == y
    return a.keys() == b.keys() and all(same(x, y) for k in a for x, y in zip(a[k], b[k], strict=True))


def test_buckets_exact_replays_collapse_and_late_readings_update_their_minute(clickhouse: Client) -> None:
    items = readings(3)
    store(clickhouse, items[: len(items) // 2], 0)
    store(clickhouse, items[len(items) // 2:], 1)
    job = TelemetryRollupJob(clickhouse, LOOKBACK, clock=FixedClock(NOW))
    start, end = job.run_once()
    assert (start, end) == closed_minutes(NOW_MS, LOOKBACK) and end == NOW_MS // MINUTE_MS * MINUTE_MS
    want = expected(items, start, end)
    assert len(want) == 2 * LOOKBACK  # both devices report in every minute
    assert any(v[1] for v in want.values())  # the reboot is in the window
    assert close(buckets(clickhouse), want)

    # a replay with other batch boundaries (other dedup tokens): raw rows collapse, the buckets do not move
    store(clickhouse, items[len(items) // 3:], 2)
    job.clock = FixedClock(NOW + dt.timedelta(seconds=1))
    job.run_once()
    assert close(buckets(clickhouse), want)

    # late readings: one inside the lookback updates its minute, one older than it does not count
    late_in = TelemetryReading(ts=start + 5 * MINUTE_MS + 1, miner=MINER, worker="rig1", device_class="GPU",
                               device_id="0", temperature_c=99.0, power_w=200.0, hashrate=1e8)
    late_out = TelemetryReading(ts=start - MINUTE_MS + 7, miner=MINER, worker="rig1", device_class="GPU",
                                device_id="0", temperature_c=99.0, power_w=200.0, hashrate=1e8)
    store(clickhouse, [(late_in, 0), (late_out, 0)], 3)
    job.clock = FixedClock(NOW + dt.timedelta(seconds=2))
    job.run_once()
    now_want = expected([*items, (late_in, 0), (late_out, 0)], start, end)
    got = buckets(clickhouse)
    assert close(got, now_want) and got[("0", start + 5 * MINUTE_MS)][3] == 99.0
    assert got != want and ("0", start - MINUTE_MS) not in got
