"""The alert rules (issue 10): pure functions from what a worker or device did to a `Finding` per condition.

A finding is ACTIVE (the condition holds: open an alert if none is open), CLEAR (it does not: clear the open
alert) or HOLD (not enough evidence either way, or inside the hysteresis band: leave things as they are).
The evaluator (`jobs.alerts`) reads the inputs from ClickHouse and applies the findings.

Worker offline (DOMAIN.md oracle): a live worker of hashrate H sending shares of difficulty d leaves no share
for t seconds with probability exp(−H·t/(d·F)); its expected share interval is d·F/H. Each worker is judged
by its OWN interval: offline after `offline_intervals` (default 7, P(false alarm) = e^−7 < 0.1%) intervals,
never sooner than OFFLINE_FLOOR_S (pipeline latency and evaluation jitter for fast workers).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from schemas.alerts import CLASS_TEMPERATURE_LIMIT, DEFAULT_TEMPERATURE_LIMIT, AlertKey, AlertKind

#: A fast worker is never offline sooner than this (seconds): shares take a moment to reach ClickHouse.
OFFLINE_FLOOR_S = 120.0
#: Fewer accepted shares than this in the window: no interval estimate (no new offline alert).
MIN_SHARES_FOR_INTERVAL = 3
#: The 24 h stats are preferred for the interval when they hold at least this many shares.
MIN_SHARES_DAY = 20
#: Hashrate drop needs this many expected shares in the last hour (relative error 1/√50 ≈ 14%) and this much
#: history; a slower worker is not judged on one hour (its offline rule still watches it).
DROP_MIN_EXPECTED_SHARES = 50.0
DROP_MIN_HISTORY_S = 2 * 3600.0
DROP_HYSTERESIS_PCT = 5.0
#: Over-temperature clears this many °C under the limit (no flapping around it).
TEMPERATURE_HYSTERESIS_C = 3.0
#: A fan at 0 on a device at least this hot (°C), or hashing, is a fan failure.
FAN_HOT_C = 60.0


class State(enum.Enum):
    ACTIVE = "active"
    CLEAR = "clear"
    HOLD = "hold"


@dataclass(frozen=True)
class Finding:
    key: AlertKey
    state: State
    value: float = 0.0
    threshold: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Thresholds:
    """A worker's effective alert settings (pool defaults overridden by PUT /workers/{id}/alerts)."""

    muted: bool = False
    offline_intervals: float = 7.0
    temperature_limit: float | None = None  # None: the device class's default
    hashrate_drop_pct: float = 30.0
    fan_alerts: bool = True
    profit_alerts: bool = True


ThresholdsOf = Callable[[str, str], Thresholds]


@dataclass(frozen=True)
class WorkerShares:
    """Accepted work of one worker: over the long window (7 d of hourly buckets) and its last 24 h."""

    miner: str
    worker: str
    factor: float  # F of its algorithm
    shares: int
    sum_difficulty: float
    first_ms: int  # its first share in the window
    last_ms: int  # its last accepted share
    recent_difficulty: float  # mean difficulty of its newest bucket with an accepted share
    shares_day: int = 0
    sum_difficulty_day: float = 0.0
    first_day_ms: int = 0


def expected_interval_s(shares: int, sum_difficulty: float, span_s: float, difficulty: float,
                        factor: float) -> float | None:
    """d·F/H with H = Σd·F·(n−1)/n / span (n shares over `span_s` make n−1 gaps); None when unknowable."""
    if shares < MIN_SHARES_FOR_INTERVAL or span_s <= 0 or sum_difficulty <= 0 or difficulty <= 0:
        return None
    rate = sum_difficulty * factor * (shares - 1) / shares / span_s
    return difficulty * factor / rate


def offline_bound_s(w: WorkerShares, intervals: float, floor_s: float = OFFLINE_FLOOR_S) -> float | None:
    """Seconds without a share after which `w` is offline (None: too few shares to say)."""
    interval = None
    if w.shares_day >= MIN_SHARES_DAY:
        interval = expected_interval_s(w.shares_day, w.sum_difficulty_day, (w.last_ms - w.first_day_ms) / 1000,
                                       w.recent_difficulty, w.factor)
    if interval is None:
        interval = expected_interval_s(w.shares, w.sum_difficulty, (w.last_ms - w.first_ms) / 1000,
                                       w.recent_difficulty, w.factor)
    return None if interval is None else max(intervals * interval, floor_s)


def offline(workers: Iterable[WorkerShares], now_ms: int, thresholds: ThresholdsOf,
            open_since_ms: Mapping[AlertKey, int], floor_s: float = OFFLINE_FLOOR_S) -> list[Finding]:
    """Worker offline: ACTIVE when silent longer than its bound; CLEAR when it is not, or when it sent a share
    after its open alert was opened (even with too few shares for a bound)."""
    found = []
    for w in workers:
        key = AlertKey(AlertKind.OFFLINE, w.miner, w.worker)
        silent_s = max(0.0, (now_ms - w.last_ms) / 1000)
        bound = offline_bound_s(w, thresholds(w.miner, w.worker).offline_intervals, floor_s)
        opened = open_since_ms.get(key)
        if opened is not None and w.last_ms > opened:
            found.append(Finding(key, State.CLEAR, silent_s, bound or 0.0, "shares again"))
        elif bound is None:
            found.append(Finding(key, State.HOLD))
        elif silent_s > bound:
            found.append(Finding(key, State.ACTIVE, silent_s, bound,
                                 f"no share for {silent_s:.0f} s (bound {bound:.0f} s from its own share rate)"))
        else:
            found.append(Finding(key, State.CLEAR, silent_s, bound))
    return found


@dataclass(frozen=True)
class WorkerDay:
    """Accepted work of one worker over the last 24 h (minute buckets) and the last hour of it."""

    miner: str
    worker: str
    factor: float
    shares: int
    sum_difficulty: float
    first_ms: int
    sum_difficulty_hour: float
    hour_s: float = 3600.0  # the seconds `sum_difficulty_hour` covers


def hashrate_drop(workers: Iterable[WorkerDay], now_ms: int, thresholds: ThresholdsOf,
                  skip: frozenset[tuple[str, str]] = frozenset()) -> list[Finding]:
    """Last hour's hashrate more than `hashrate_drop_pct` % under its 24 h average (over the time it was
    present). Judged only with enough shares to tell; `skip` (workers already offline) are HOLD."""
    found = []
    for w in workers:
        key = AlertKey(AlertKind.HASHRATE_DROP, w.miner, w.worker)
        present_s = (now_ms - max(w.first_ms, now_ms - 86_400_000)) / 1000
        expected_hour = w.shares * 3600 / present_s if present_s > 0 else 0.0
        if (w.miner, w.worker) in skip or present_s < DROP_MIN_HISTORY_S or expected_hour < DROP_MIN_EXPECTED_SHARES:
            found.append(Finding(key, State.HOLD))
            continue
        average = w.sum_difficulty * w.factor / present_s
        hour = w.sum_difficulty_hour * w.factor / w.hour_s
        drop = 100.0 * (1.0 - hour / average) if average > 0 else 0.0
        allowed = thresholds(w.miner, w.worker).hashrate_drop_pct
        if drop > allowed:
            found.append(Finding(key, State.ACTIVE, drop, allowed,
                                 f"last hour {hour:.4g} H/s is {drop:.1f}% under its 24 h average {average:.4g} H/s"))
        else:
            found.append(Finding(key, State.CLEAR if drop <= allowed - DROP_HYSTERESIS_PCT else State.HOLD,
                                 drop, allowed))
    return found


@dataclass(frozen=True)
class DeviceReadings:
    """One device's readings over the recent window (raw telemetry)."""

    miner: str
    worker: str
    device_class: str
    device_id: str
    readings: int
    temperature: float | None  # median °C
    temperature_max: float | None
    fan_readings: int  # readings with a fan value
    fan_max: float | None  # max of rpm / % over those
    hashrate_max: float | None


def temperature_limit(t: Thresholds, device_class: str) -> float:
    if t.temperature_limit is not None:
        return t.temperature_limit
    return CLASS_TEMPERATURE_LIMIT.get(device_class, DEFAULT_TEMPERATURE_LIMIT)


def over_temperature(devices: Iterable[DeviceReadings], thresholds: ThresholdsOf) -> list[Finding]:
    """Median temperature over the window above the limit; clears TEMPERATURE_HYSTERESIS_C under it."""
    found = []
    for d in devices:
        key = AlertKey(AlertKind.OVER_TEMPERATURE, d.miner, d.worker, d.device_id)
        limit = temperature_limit(thresholds(d.miner, d.worker), d.device_class)
        if d.temperature is None or not math.isfinite(d.temperature):
            found.append(Finding(key, State.HOLD))
        elif d.temperature > limit:
            found.append(Finding(key, State.ACTIVE, d.temperature, limit,
                                 f"{d.device_class} {d.device_id} at {d.temperature:.1f} °C (limit {limit:.0f} °C)"))
        else:
            state = State.CLEAR if d.temperature <= limit - TEMPERATURE_HYSTERESIS_C else State.HOLD
            found.append(Finding(key, state, d.temperature, limit))
    return found


def fan_failure(devices: Iterable[DeviceReadings], thresholds: ThresholdsOf) -> list[Finding]:
    """Every fan reading of the window at 0 (at least two) while the device hashes or is hot."""
    found = []
    for d in devices:
        key = AlertKey(AlertKind.FAN_FAILURE, d.miner, d.worker, d.device_id)
        if d.fan_max is None or d.fan_readings == 0:
            found.append(Finding(key, State.HOLD))  # no fan reported (passive cooling, or not measured)
            continue
        if not thresholds(d.miner, d.worker).fan_alerts:
            found.append(Finding(key, State.CLEAR, d.fan_max, 0.0))
            continue
        busy = (d.hashrate_max or 0.0) > 0 or (d.temperature_max or 0.0) >= FAN_HOT_C
        if d.fan_max <= 0 and d.fan_readings >= 2 and busy:
            found.append(Finding(key, State.ACTIVE, 0.0, 0.0,
                                 f"{d.device_class} {d.device_id}: fan at 0 while "
                                 + ("hashing" if (d.hashrate_max or 0.0) > 0 else f"at {d.temperature_max:.0f} °C")))
        else:
            found.append(Finding(key, State.CLEAR if d.fan_max > 0 or not busy else State.HOLD, d.fan_max, 0.0))
    return found


@dataclass(frozen=True)
class RigProfit:
    miner: str
    worker: str
    profit: float | None  # over the window, electricity currency (None: unknown)
    currency: str = ""


def unprofitable(rigs: Iterable[RigProfit], thresholds: ThresholdsOf) -> list[Finding]:
    """Profit (revenue − power cost) below 0 over the window."""
    found = []
    for r in rigs:
        key = AlertKey(AlertKind.UNPROFITABLE, r.miner, r.worker)
        if r.profit is None or not math.isfinite(r.profit) or not thresholds(r.miner, r.worker).profit_alerts:
            found.append(Finding(key, State.HOLD if r.profit is None else State.CLEAR))
        elif r.profit < 0:
            found.append(Finding(key, State.ACTIVE, r.profit, 0.0,
                                 f"losing {-r.profit:.4g} {r.currency} over the window".replace("  ", " ")))
        else:
            found.append(Finding(key, State.CLEAR, r.profit, 0.0))
    return found
