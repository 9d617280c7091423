"""Alerts, per-worker alert settings and the Mobile API (seed 000/001 `POST /mobile/register`,
`PUT /mobile/notifications` bodies). Write bodies refuse unknown fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class AlertInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One alert. `value` and `threshold` share a unit per kind: worker_offline s without a share vs the
    worker's own bound; hashrate_drop % under the 24 h average vs the allowed %; over_temperature °C vs the
    limit; fan_failure the fan reading vs 0; unprofitable profit over the last hour vs 0."""

    id: str
    kind: str
    status: str  # open | cleared
    severity: str  # warning | critical
    miner: str
    worker: str
    device_id: str  # "" for worker-level kinds
    opened_at: dt.datetime
    cleared_at: dt.datetime | None
    duration_s: float  # open for (until now, or until cleared)
    value: float
    threshold: float
    message: str


class WorkerAlertSettingsUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fields sent replace the worker's; `reset: true` first returns every field to the pool default."""

    muted: bool | None = None
    offline_intervals: Annotated[float, msgspec.Meta(ge=1, le=1000)] | None = None
    temperature_limit: Annotated[float, msgspec.Meta(ge=20, le=150)] | None = None
    hashrate_drop_pct: Annotated[float, msgspec.Meta(gt=0, lt=100)] | None = None
    fan_alerts: bool | None = None
    profit_alerts: bool | None = None
    reset: bool = False


class WorkerAlertSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's effective alert settings (`custom` lists the fields it overrides)."""

    worker_id: int
    miner: str
    worker: str
    muted: bool
    offline_intervals: float  # expected share intervals without a share before "offline"
    temperature_limit: float | None  # °C; null: its device class's default
    class_temperature_limits: dict[str, float]
    hashrate_drop_pct: float
    fan_alerts: bool
    profit_alerts: bool
    custom: list[str]
    updated_at: dt.datetime | None


class MobileRegister(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    device_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    platform: Literal["ios", "android", "web"]
    miner_address: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class NotificationPreferencesUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Seed body (worker_offline, payment_sent, block_found, hashrate_drop, threshold_percentage) plus the
    hardware kinds. Applies to the caller's devices, or only `device_token` / those of `miner_address`."""

    worker_offline: bool | None = None
    payment_sent: bool | None = None
    block_found: bool | None = None
    hashrate_drop: bool | None = None
    threshold_percentage: Percent | None = None
    over_temperature: bool | None = None
    fan_failure: bool | None = None
    unprofitable: bool | None = None
    device_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    miner_address: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class MobileDevice(msgspec.Struct, frozen=True, kw_only=True):
    """A registered device and what it gets pushed."""

    device_token: str
    platform: str
    miner_address: str
    registered_at: dt.datetime
    worker_offline: bool
    payment_sent: bool
    block_found: bool
    hashrate_drop: bool
    threshold_percentage: float  # a hashrate drop is pushed when at least this % under the 24 h average
    over_temperature: bool
    fan_failure: bool
    unprofitable: bool
