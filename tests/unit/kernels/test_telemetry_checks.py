"""Telemetry checks against their plain-Python reference, and each reason on its own (class ranges included)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.telemetry_checks import check_readings, check_reference, class_code_of
from schemas.identity import valid_address, valid_worker
from schemas.telemetry import CLASS_RANGES, DEVICE_CLASSES, RANGES, READINGS, TelemetryReason

GOOD = "bc1qexampleminer0000000000000000000000aaaa"
REF = 1_800_000_000_000
PAST, FUTURE = 3_600_000, 300_000

values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-100, 200),
                   st.integers(-5, 10**12).map(float),
                   st.sampled_from(sorted({b for r in CLASS_RANGES.values() for lo, hi in r.values() for b in (lo, hi)}
                                          | {b for lo, hi in RANGES.values() for b in (float(lo), float(hi))})),
                   st.sampled_from([1_999.0, 2_000.0, 2_000.5, 4_999.0, 5_001.0, 12_000.0, 25_001.0, 130.5]))
readings = st.fixed_dictionaries({name: values for name in READINGS})
rows = st.tuples(
    st.integers(REF - 5_000_000, REF + 500_000),
    st.sampled_from([*DEVICE_CLASSES, "gpu", "TPU", ""]),
    st.sampled_from([GOOD, "short", GOOD + "!"]),
    st.sampled_from(["rig1", "", "bad worker"]),
    readings,
)
Row = tuple[int, str, str, str, dict[str, float | None]]


def run(batch: list[Row]) -> list[int]:
    present = np.array([[r[4][name] is not None for r in batch] for name in READINGS], dtype=np.bool_)
    vals = np.array([[r[4][name] if r[4][name] is not None else 0.0 for r in batch] for name in READINGS],
                    dtype=np.float64)
    out = check_readings(
        np.array([r[0] for r in batch], dtype=np.int64), np.full(len(batch), REF, dtype=np.int64),
        np.array([r[1] in DEVICE_CLASSES for r in batch], dtype=np.uint8),
        np.array([valid_address(r[2]) for r in batch], dtype=np.uint8),
        np.array([valid_worker(r[3]) for r in batch], dtype=np.uint8),
        vals, present, PAST, FUTURE, np.array([class_code_of(r[1]) for r in batch], dtype=np.uint8),
    )
    return [int(x) for x in out]


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=0, max_size=30))
def test_checks_match_reference(batch: list[Row]) -> None:
    assert run(batch) == [check_reference(ts, REF, dc, m, w, r, PAST, FUTURE) for ts, dc, m, w, r in batch]


def test_each_reason_fires() -> None:
    ok: dict[str, float | None] = {name: None for name in READINGS}
    batch: list[Row] = [
        (REF, "ASIC", GOOD, "rig1", {**ok, "temperature_c": 70.0, "power_w": 3250.0, "fan_pct": 100.0}),
        (REF, "FPGA", GOOD, "rig1", ok),
        (REF, "GPU", "short", "rig1", ok),
        (REF, "GPU", GOOD, "bad worker", ok),
        (REF - PAST - 1, "GPU", GOOD, "rig1", ok),
        (REF, "GPU", GOOD, "rig1", {**ok, "hashrate": math.nan}),
        (REF, "GPU", GOOD, "rig1", {**ok, "voltage": math.inf}),
        (REF, "GPU", GOOD, "rig1", {**ok, "temperature_c": 151.0}),
        (REF, "GPU", GOOD, "rig1", {**ok, "temperature_c": -40.5}),
        (REF, "CPU", GOOD, "rig1", {**ok, "power_w": -1.0}),
        (REF, "CPU", GOOD, "rig1", {**ok, "fan_rpm": -5.0}),
        (REF, "CPU", GOOD, "rig1", {**ok, "hashrate": 1e308}),
        (REF, "CPU", GOOD, "rig1", {**ok, "uptime_s": float(2**63)}),
    ]
    R = TelemetryReason
    assert run(batch) == [0, R.BAD_DEVICE_CLASS, R.BAD_ADDRESS, R.BAD_WORKER, R.TIME_SKEW, R.NOT_FINITE,
                          R.NOT_FINITE, *[R.OUT_OF_RANGE] * 6]


def test_class_ranges_inclusive_bounds_and_inside_physical_ranges() -> None:
    ok: dict[str, float | None] = {name: None for name in READINGS}
    R = TelemetryReason
    for device_class, bounds in CLASS_RANGES.items():
        for name, (lo, hi) in bounds.items():
            assert RANGES[name][0] <= lo < hi <= RANGES[name][1]
            batch: list[Row] = [(REF, device_class, GOOD, "rig1", {**ok, name: v}) for v in (lo, hi)]
            if hi < RANGES[name][1]:
                batch.append((REF, device_class, GOOD, "rig1", {**ok, name: hi + 0.5}))
            if lo > RANGES[name][0]:
                batch.append((REF, device_class, GOOD, "rig1", {**ok, name: lo - 0.5}))
            assert run(batch) == [0, 0, *[R.OUT_OF_CLASS_RANGE] * (len(batch) - 2)], (device_class, name)


def test_a_value_fits_one_class_but_not_another() -> None:
    ok: dict[str, float | None] = {name: None for name in READINGS}
    R = TelemetryReason
    power = {**ok, "power_w": 3_500.0}  # an ASIC's, no GPU's or CPU's
    core = {**ok, "core_clock_mhz": 4_500.0}  # a CPU's or a GPU's, no ASIC's
    batch: list[Row] = [(REF, c, GOOD, "rig1", r) for r in (power, core) for c in ("ASIC", "GPU", "CPU")]
    assert run(batch) == [0, R.OUT_OF_CLASS_RANGE, R.OUT_OF_CLASS_RANGE, R.OUT_OF_CLASS_RANGE, 0, 0]
    # without class codes (a caller that does not pass them) only the physical ranges apply
    out = check_readings(np.full(6, REF, np.int64), np.full(6, REF, np.int64), np.ones(6, np.uint8),
                         np.ones(6, np.uint8), np.ones(6, np.uint8),
                         np.array([[r.get(n) or 0.0 for _, _, _, _, r in batch] for n in READINGS]),
                         np.array([[r.get(n) is not None for _, _, _, _, r in batch] for n in READINGS]), PAST, FUTURE)
    assert out.tolist() == [0] * 6


def test_empty_and_one_reading() -> None:
    assert run([]) == []
    assert run([(REF, "GPU", GOOD, "rig1", {name: None for name in READINGS})]) == [0]
