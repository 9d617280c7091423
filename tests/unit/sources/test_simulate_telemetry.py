"""Simulated telemetry: deterministic with a seed, consistent with the shares (same workers, classes and
hashrates), every reading passes the stateless checks, and the failing rigs fail as described (a hot GPU
heats past its limit and throttles, hashrate and shares; a dead fan reads 0 rpm while heating; an offline rig
stops sharing and reporting; an unprofitable rig draws far too much power for its hashrate)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kernels.telemetry_checks import check_readings, class_code_of
from schemas.clock import FixedClock
from schemas.identity import valid_address, valid_worker
from schemas.share import decode_message
from schemas.telemetry import DEVICE_CLASSES, READINGS, decode_payload
from schemas.topics import TopicNames
from sources.simulate.options import SimulateOptions
from sources.simulate.report import SimulationReport
from sources.simulate.rigs import THROTTLED
from sources.simulate.run import simulate
from sources.simulate.telemetry import CLASSES, TICK_MS
from tests.unit.sources.test_simulate_run import FakePublisher

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)
TOPICS = TopicNames("t.")
OPTIONS = SimulateOptions(miners=10, workers=4, duration_s=1800, seed=11, algorithms=("kawpow", "sha256d"),
                          telemetry=True, failing_rigs=4)


def run(options: SimulateOptions = OPTIONS) -> tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]:
    publisher = FakePublisher()
    report = simulate(options, publisher, TOPICS, FixedClock(T0))
    readings = [v for t, _, v, _ in publisher.sent if t == TOPICS.telemetry]
    telemetry = pa.Table.from_batches([decode_payload(v) for v in readings]) if readings else None
    shares = pa.concat_tables([pa.Table.from_batches([decode_message(v)]) for t, _, v, _ in publisher.sent
                               if t == TOPICS.shares])
    return report, telemetry, shares, readings


@pytest.fixture(scope="module")
def result() -> tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]:
    return run()


def device(table: pa.Table, miner: str, worker: str) -> pa.Table:
    mask = pc.and_(pc.equal(table.column("miner"), miner), pc.equal(table.column("worker"), worker))
    return table.filter(mask).sort_by("ts")


def ms(table: pa.Table) -> np.ndarray:
    out: np.ndarray = table.column("ts").cast(pa.int64()).to_numpy()
    return out


def rig(report: SimulationReport, kind: str) -> dict[str, object]:
    return next(r for r in report.failing_rigs if r["kind"] == kind)


def test_deterministic_with_a_seed(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    again = run()
    assert again[3] == result[3] and again[0].failing_rigs == result[0].failing_rigs
    other = run(SimulateOptions(**{**OPTIONS.__dict__, "seed": 12}))
    assert other[3] != result[3]


def test_every_worker_reports_its_class_every_tick(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    report, telemetry, shares, _ = result
    assert report.telemetry_readings == telemetry.num_rows
    expected = OPTIONS.miners * OPTIONS.workers * OPTIONS.duration_s * 1000 / TICK_MS
    offline = rig(report, "offline")
    missing = (report.end_ms - int(offline["onset_ms"])) / TICK_MS  # type: ignore[call-overload]
    assert abs(telemetry.num_rows - (expected - missing)) <= OPTIONS.miners * OPTIONS.workers + 1
    # a worker's device class is its shares' hardware hint
    hints = {(m, w): h for m, w, h in zip(*(shares.column(c).to_pylist() for c in ("miner", "worker", "hardware")),
                                          strict=True)}
    classes = {(m, w): c for m, w, c in zip(*(telemetry.column(c).to_pylist() for c in ("miner", "worker",
                                                                                          "device_class")), strict=True)}
    assert classes == {k: hints[k].upper() for k in classes} and len(classes) == 40
    # readings of one device are TICK_MS apart
    one = device(telemetry, *next(iter(classes)))
    assert set(np.diff(ms(one)).tolist()) == {TICK_MS}
    assert (ms(telemetry) >= report.start_ms).all() and (ms(telemetry) < report.end_ms).all()


def test_readings_pass_the_stateless_checks(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    telemetry = result[1]
    n = telemetry.num_rows
    values = np.vstack([pc.fill_null(telemetry.column(r).cast(pa.float64()), 0.0).to_numpy() for r in READINGS])
    present = np.vstack([pc.is_valid(telemetry.column(r)).to_numpy(zero_copy_only=False) for r in READINGS])

    def codes(column: str, ok: object) -> np.ndarray:
        return np.array([int(ok(v)) for v in telemetry.column(column).to_pylist()], dtype=np.uint8)  # type: ignore[operator]

    reasons = check_readings(ms(telemetry), np.full(n, result[0].end_ms, dtype=np.int64),
                             codes("device_class", lambda c: c in DEVICE_CLASSES), codes("miner", valid_address),
                             codes("worker", valid_worker), values, present, 3_600_000, 300_000,
                             class_code=codes("device_class", class_code_of))
    assert np.count_nonzero(reasons) == 0


def test_hot_gpu_heats_past_its_limit_and_throttles(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    report, telemetry, shares, _ = result
    hot = rig(report, "hot_gpu")
    assert hot["device_class"] == "GPU"
    limit_c = CLASSES[1].limit_c
    readings = device(telemetry, str(hot["miner"]), str(hot["worker"]))
    t = ms(readings)
    before, after = t < int(hot["onset_ms"]), t >= int(hot["limit_ms"])  # type: ignore[call-overload]
    temperature = readings.column("temperature_c").to_numpy()
    hashrate = readings.column("hashrate").to_numpy()
    assert temperature[before].max() < limit_c < temperature[after].min()
    assert np.mean(hashrate[after]) / np.mean(hashrate[before]) == pytest.approx(THROTTLED, rel=0.1)
    mine = device(shares, str(hot["miner"]), str(hot["worker"]))  # no invalid, stale or duplicate shares here
    st = ms(mine)
    split = int(hot["limit_ms"])  # type: ignore[call-overload]
    rate_before = np.count_nonzero(st < split) / (split - report.start_ms)
    rate_after = np.count_nonzero(st >= split) / (report.end_ms - split)
    assert 0.15 < rate_after / rate_before < 0.7


def test_fan_failure_offline_and_unprofitable(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    report, telemetry, shares, _ = result
    fan = rig(report, "fan_failure")
    readings = device(telemetry, str(fan["miner"]), str(fan["worker"]))
    failed = ms(readings) >= int(fan["onset_ms"])  # type: ignore[call-overload]
    rpm = readings.column("fan_rpm").to_numpy()
    temperature = readings.column("temperature_c").to_numpy()
    assert (rpm[~failed] > 1000).all() and (rpm[failed] == 0).all()
    assert temperature[-1] > temperature[~failed].max() + 15

    off = rig(report, "offline")
    onset = int(off["onset_ms"])  # type: ignore[call-overload]
    assert ms(device(telemetry, str(off["miner"]), str(off["worker"]))).max() < onset
    its_shares = ms(device(shares, str(off["miner"]), str(off["worker"])))
    assert len(its_shares) > 0 and its_shares.max() < onset + 2_000  # a late duplicate at most

    bad = rig(report, "unprofitable")
    cls = str(bad["device_class"])
    same = telemetry.filter(pc.equal(telemetry.column("device_class"), cls))
    joules = (same.column("power_w").to_numpy() / same.column("hashrate").to_numpy())
    theirs = device(same, str(bad["miner"]), str(bad["worker"]))
    assert np.median(theirs.column("power_w").to_numpy() / theirs.column("hashrate").to_numpy()) > 3 * np.median(joules)


def test_report_true_hashrate_is_the_window_average(result: tuple[SimulationReport, pa.Table, pa.Table, list[bytes]]) -> None:
    report = result[0]
    assert sum(report.miner_true_hashrate.values()) == pytest.approx(sum(report.true_hashrate.values()))
    for algorithm, true in report.true_hashrate.items():
        assert report.accepted_hashrate[algorithm] == pytest.approx(true, rel=0.15)


def test_telemetry_off_and_no_failing_rigs() -> None:
    report, telemetry, _, sent = run(SimulateOptions(miners=2, workers=2, duration_s=120, seed=3))
    assert telemetry is None and sent == [] and report.failing_rigs == [] and report.telemetry_readings == 0
    with pytest.raises(ValueError, match="--failing-rigs"):
        SimulateOptions(miners=1, failing_rigs=-1)
