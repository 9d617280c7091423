"""Hardware figures of one worker (seed 004 `/workers/{id}/metrics`, `/workers/{id}/stats`) and the
efficiency / per-algorithm additions of `/monitoring/hardware` (issue 10). Units: H/s, °C, W, rpm, %, MB.
Fiat amounts are exact decimal strings in `currency`; coin amounts are integers of base units beside an exact
decimal string."""

from __future__ import annotations

import datetime as dt

import msgspec


class MetricsPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One step of the series: device figures averaged over the step's minutes (summed over the rig's
    devices per minute), the pool-measured hashrate of the step, errors counted in it. Null: no reading."""

    timestamp: dt.datetime  # start of the step, UTC
    reported_hashrate: float | None
    measured_hashrate: float  # Σ accepted difficulty · F / step
    temperature_avg: float | None
    temperature_max: float | None
    fan_rpm: float | None
    fan_pct: float | None
    power_w: float | None
    utilization: float | None  # %
    memory_used_mb: float | None
    hardware_errors: int | None
    accepted_shares: int
    rejected_shares: int  # rejected and stale
    readings: int


class WorkerMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """GET /workers/{id}/metrics?hours=N: one point per step, oldest first, every step listed."""

    worker_id: int
    worker_name: str
    address: str
    hours: int
    step_seconds: int  # 60 up to 6 h, 300 up to 48 h, 3600 beyond
    points: list[MetricsPoint]


class WorkerStats(msgspec.Struct, frozen=True, kw_only=True):
    """GET /workers/{id}/stats: the worker's current figures (last 10 minutes) and its efficiency and
    profitability over `window_seconds` (jobs/sinks `rig_figures`: definitions in docs/architecture.md)."""

    worker_id: int
    worker_name: str
    address: str
    device_class: str  # cpu | gpu | asic | unknown
    algorithm: str | None
    site: str  # the registered worker's config.site ("" = default electricity price)
    online: bool  # an accepted share in the last 10 minutes
    hashrate: float  # pool-measured, last 10 minutes
    reported_hashrate: float | None  # as the rig reports it, last 10 minutes
    temperature: float | None  # °C, mean of the last 10 minutes
    temperature_max: float | None
    power_w: float | None  # last 10 minutes
    fan_pct: float | None
    utilization: float | None
    window_seconds: int
    avg_hashrate: float  # pool-measured over the window
    avg_reported_hashrate: float | None
    avg_power_w: float | None
    hardware_errors: int  # over the window
    efficiency: float | None  # joules per `efficiency_unit` over the window
    efficiency_unit: str | None  # J/TH (sha256d), J/MH (scrypt, ethash, kawpow), J/kH (randomx)
    coin: str | None
    revenue_base_units: int
    revenue_str: str | None  # exact decimal of revenue_base_units in `coin`
    revenue_source: str  # ledger | pps_estimate | none | unknown
    currency: str  # of the fiat amounts below (ELECTRICITY_CURRENCY)
    coin_price: str | None
    revenue_fiat: str | None
    energy_kwh: str
    price_kwh: str
    power_cost: str
    profit: str | None
    profit_reason: str | None  # why profit is null
    updated_at: dt.datetime


class ClassEfficiency(msgspec.Struct, frozen=True, kw_only=True):
    """A hardware class's efficiency on one algorithm: Σ power / Σ reported hashrate of its rigs reporting
    both (latest 10 closed minutes of telemetry_1m)."""

    algorithm: str
    efficiency: float | None
    unit: str | None
    power_w: float
    reported_hashrate: float
    rigs: int


class AlgorithmHardware(msgspec.Struct, frozen=True, kw_only=True):
    """The `by_algorithm` rollup of /monitoring/hardware: workers with accepted work on the algorithm in the
    last 10 minutes, their measured hashrate and their telemetry (latest 10 closed minutes)."""

    algorithm: str
    count: int
    total_hashrate: float
    reported_hashrate: float | None
    avg_temperature: float | None
    power_consumption: float | None
    efficiency: float | None
    efficiency_unit: str | None
