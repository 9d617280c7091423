"""The alert rules against their contracts: the offline oracle of DOMAIN.md (a worker judged by its OWN share
interval: slow workers do not false-alarm, fast ones are caught after the floor), hashrate drop with its
evidence gate and hysteresis, over-temperature per class and override, fan failure, unprofitable rigs (a
stub of `rig_figures`' rows), and how findings become rows (one open alert per condition, mute, clear)."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest

from jobs.alert_rules import (
    OFFLINE_FLOOR_S,
    DeviceReadings,
    Finding,
    RigProfit,
    State,
    Thresholds,
    WorkerDay,
    WorkerShares,
    expected_interval_s,
    fan_failure,
    hashrate_drop,
    offline,
    offline_bound_s,
    over_temperature,
    unprofitable,
)
from jobs.alerts import apply, rig_profits
from schemas.alerts import Alert, AlertKey, AlertKind, alert_id
from schemas.algorithms import HASHRATE_FACTOR, Algorithm

F = HASHRATE_FACTOR[Algorithm.SHA256D]
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def defaults(miner: str, worker: str) -> Thresholds:
    return Thresholds()


def shares_of(times_s: list[float], difficulty: float, miner: str = "m", worker: str = "w") -> WorkerShares:
    """The offline rule's input for shares at `times_s` (seconds before NOW) of equal difficulty."""
    ms = sorted(NOW_MS - int(t * 1000) for t in times_s)
    day = [m for m in ms if m >= NOW_MS - 86_400_000]
    return WorkerShares(miner, worker, F, len(ms), difficulty * len(ms), ms[0], ms[-1], difficulty,
                        len(day), difficulty * len(day), day[0] if day else 0)


def poisson_times(interval_s: float, span_s: float, rng: random.Random) -> list[float]:
    """Arrival times (seconds before NOW) of a Poisson process with mean gap `interval_s` over `span_s`."""
    t, out = 0.0, []
    while True:
        t += rng.expovariate(1.0 / interval_s)
        if t > span_s:
            return out
        out.append(span_s - t)


def test_expected_interval_is_d_f_over_h() -> None:
    # 1000 shares of d=8 over 10,000 s: H = Σd·F·(n−1)/n / T, interval d·F/H = T·n/((n−1)·n) = T/(n−1)
    interval = expected_interval_s(1000, 8.0 * 1000, 10_000.0, 8.0, F)
    assert interval == pytest.approx(10_000 / 999)
    assert expected_interval_s(2, 16.0, 100.0, 8.0, F) is None  # too few shares
    assert expected_interval_s(100, 800.0, 0.0, 8.0, F) is None


def test_slow_worker_does_not_false_alarm_poisson_oracle() -> None:
    """DOMAIN.md: P(no share for 7 intervals) = e^−7 ≈ 0.09%. A worker with a 15-minute share interval,
    looked at when a gap is in progress, must be flagged at about that rate (a fixed 10-minute rule would flag
    e^(−10/15) ≈ 51% of these moments)."""
    rng = random.Random(7)
    interval = 900.0
    flagged = fixed_rule = trials = 0
    for _ in range(4000):
        times = poisson_times(interval, 3 * 86_400, rng)  # NOW is a random moment: the gap in progress is Exp(τ)
        finding = offline([shares_of(times, difficulty=1000.0)], NOW_MS, defaults, {})[0]
        trials += 1
        flagged += finding.state is State.ACTIVE
        fixed_rule += min(times) > 600
    assert trials == 4000
    assert flagged / trials < 0.004  # e^−7 ≈ 0.0009, plus the estimate's own noise
    assert fixed_rule / trials > 0.4  # what a one-size threshold would have done


def test_fast_worker_flagged_after_the_floor_and_slow_one_after_its_bound() -> None:
    fast = shares_of([130 + 2 * i for i in range(2000)], difficulty=1.0)  # a share every 2 s, silent 130 s
    f = offline([fast], NOW_MS, defaults, {})[0]
    assert offline_bound_s(fast, 7.0) == OFFLINE_FLOOR_S
    assert f.state is State.ACTIVE and f.key == AlertKey(AlertKind.OFFLINE, "m", "w")
    assert f.value == pytest.approx(130, abs=0.01) and f.threshold == OFFLINE_FLOOR_S
    slow = [3000 + 600 * i for i in range(100)]  # every 10 min; silent 50 min < 7 × 10 min
    assert offline([shares_of(slow, 1e6)], NOW_MS, defaults, {})[0].state is State.CLEAR
    slower = [4500 + 600 * i for i in range(100)]  # silent 75 min > 70 min
    found = offline([shares_of(slower, 1e6)], NOW_MS, defaults, {})[0]
    assert found.state is State.ACTIVE and found.threshold == pytest.approx(7 * 600, rel=0.02)
    # the worker's own setting: 10 intervals -> 100 min, not offline yet
    ten = offline([shares_of(slower, 1e6)], NOW_MS, lambda m, w: Thresholds(offline_intervals=10), {})[0]
    assert ten.state is State.CLEAR


def test_offline_needs_shares_and_clears_on_the_first_new_share() -> None:
    few = shares_of([5000, 9000], 1.0)
    key = AlertKey(AlertKind.OFFLINE, "m", "w")
    assert offline([few], NOW_MS, defaults, {})[0].state is State.HOLD
    opened = NOW_MS - 6_000_000  # the open alert predates its last share: it is back
    assert offline([few], NOW_MS, defaults, {key: opened})[0].state is State.CLEAR
    assert offline([few], NOW_MS, defaults, {key: NOW_MS - 1000})[0].state is State.HOLD


def day(miner: str, shares: int, hour_fraction: float, first_h: float = 24.0) -> WorkerDay:
    """A worker present `first_h` hours with `shares` shares of d=1000, its last hour at `hour_fraction` of
    its average rate."""
    present = first_h * 3600
    per_s = shares * 1000.0 / present
    return WorkerDay(miner, "w", F, shares, shares * 1000.0, NOW_MS - int(present * 1000), per_s * 3600 * hour_fraction)


def test_hashrate_drop_with_evidence_gate_and_hysteresis() -> None:
    found = {f.key.miner: f for f in hashrate_drop(
        [day("steady", 24_000, 1.0), day("half", 24_000, 0.5), day("slow", 240, 0.0), day("band", 24_000, 0.72),
         day("new", 1000, 0.1, first_h=1.5), day("off", 24_000, 0.0)], NOW_MS, defaults,
        skip=frozenset({("off", "w")}))}
    assert found["steady"].state is State.CLEAR
    assert found["half"].state is State.ACTIVE and found["half"].value == pytest.approx(50.0)
    assert found["half"].threshold == 30.0
    assert found["slow"].state is State.HOLD  # 10 shares/hour expected: one hour cannot tell
    assert found["band"].state is State.HOLD  # 28% under: between 25 and 30, keep what is
    assert found["new"].state is State.HOLD  # 1.5 h of history
    assert found["off"].state is State.HOLD  # already offline: no second alert
    own = hashrate_drop([day("half", 24_000, 0.5)], NOW_MS, lambda m, w: Thresholds(hashrate_drop_pct=60))
    assert own[0].state is State.CLEAR


def device(cls: str, temp: float | None, *, fan: float | None = 3000.0, fans: int = 5, hashing: float = 1e12,
           dev: str = "0") -> DeviceReadings:
    return DeviceReadings("m", "w", cls, dev, 5, temp, temp, fans if fan is not None else 0, fan, hashing)


def test_over_temperature_by_class_override_and_hysteresis() -> None:
    states = [f.state for f in over_temperature(
        [device("gpu", 86.0), device("gpu", 84.0), device("asic", 81.0), device("asic", 78.5), device("asic", 76.0),
         device("cpu", 86.0), device("cpu", None)], defaults)]
    assert states == [State.ACTIVE, State.HOLD, State.ACTIVE, State.HOLD, State.CLEAR, State.CLEAR, State.HOLD]
    hot = over_temperature([device("gpu", 86.0, dev="3")], lambda m, w: Thresholds(temperature_limit=90))[0]
    assert hot.state is State.CLEAR and hot.threshold == 90 and hot.key.device_id == "3"
    f = over_temperature([device("asic", 95.0)], defaults)[0]
    assert (f.value, f.threshold, f.key.kind) == (95.0, 80.0, AlertKind.OVER_TEMPERATURE)


def test_fan_failure() -> None:
    got = [f.state for f in fan_failure(
        [device("gpu", 50.0, fan=0.0), device("gpu", 70.0, fan=0.0, hashing=0.0), device("gpu", 40.0, fan=0.0, hashing=0.0),
         device("gpu", 50.0, fan=0.0, fans=1), device("cpu", 50.0, fan=None), device("gpu", 50.0, fan=1200.0)], defaults)]
    assert got == [State.ACTIVE, State.ACTIVE, State.CLEAR, State.HOLD, State.HOLD, State.CLEAR]
    off = fan_failure([device("gpu", 50.0, fan=0.0)], lambda m, w: Thresholds(fan_alerts=False))
    assert off[0].state is State.CLEAR


def test_unprofitable_from_a_rig_figures_stub() -> None:
    stub_rows = [SimpleNamespace(miner="m", worker="loss", profit=Decimal("-0.42"), currency="USD"),
                 SimpleNamespace(miner="m", worker="gain", profit=Decimal("1.5"), currency="USD"),
                 SimpleNamespace(miner="m", worker="unknown", profit=None, currency="USD")]
    calls = []

    def stub(client: object, now_ms: int, window_s: int, settings: object) -> list[SimpleNamespace]:
        calls.append((now_ms, window_s))
        return stub_rows

    import jobs.alerts as alerts_module
    real = alerts_module.rig_figures
    alerts_module.rig_figures = stub  # type: ignore[assignment]
    try:
        rigs = rig_profits(client=None, settings=None, window_s=1800)(NOW_MS)  # type: ignore[arg-type]
    finally:
        alerts_module.rig_figures = real
    assert calls == [(NOW_MS, 1800)]
    found = {f.key.worker: f for f in unprofitable(rigs, defaults)}
    assert found["loss"].state is State.ACTIVE and found["loss"].value == pytest.approx(-0.42)
    assert found["gain"].state is State.CLEAR and found["unknown"].state is State.HOLD
    muted = unprofitable([RigProfit("m", "loss", -1.0)], lambda m, w: Thresholds(profit_alerts=False))
    assert muted[0].state is State.CLEAR
    assert unprofitable([RigProfit("m", "x", math.nan)], defaults)[0].state is State.CLEAR


def open_alert(key: AlertKey, at: dt.datetime) -> Alert:
    return Alert(alert_id(key, at), key.kind.value, key.miner, key.worker, key.device_id, "critical", at, None,
                 1.0, 1.0, "m", at)


def test_apply_one_open_alert_per_condition_mute_and_clear() -> None:
    earlier = NOW - dt.timedelta(minutes=5)
    off_a, off_b = AlertKey(AlertKind.OFFLINE, "m", "a"), AlertKey(AlertKind.OFFLINE, "m", "b")
    hot, fan = AlertKey(AlertKind.OVER_TEMPERATURE, "m", "a", "0"), AlertKey(AlertKind.FAN_FAILURE, "m", "a", "0")
    gone_off = AlertKey(AlertKind.OFFLINE, "m", "gone")
    current = {k: open_alert(k, earlier) for k in (off_a, hot, fan, gone_off)}
    muted = AlertKey(AlertKind.OFFLINE, "m", "muted")
    findings = [Finding(off_a, State.ACTIVE, 500, 120), Finding(off_b, State.ACTIVE, 500, 120),
                Finding(off_b, State.ACTIVE, 501, 120), Finding(hot, State.CLEAR), Finding(muted, State.ACTIVE)]
    opened, cleared = apply(findings, current, lambda m, w: Thresholds(muted=w == "muted"), NOW)
    assert [a.key for a in opened] == [off_b]  # a's is open already; b once; muted opens nothing
    assert opened[0].id == alert_id(off_b, NOW) and opened[0].cleared_at is None and opened[0].severity == "critical"
    # hot ended; the fan can no longer be observed (no finding): both clear; the silent worker stays offline
    assert {a.key for a in cleared} == {hot, fan}
    assert all(a.cleared_at == NOW and a.updated_at > a.opened_at and a.opened_at == earlier for a in cleared)
