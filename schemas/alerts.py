"""The alert contract (issue 10): kinds, the row of table `alerts` (migration 0016), its stable id and the JSON
an alert event carries to webhooks, the push gateway and the API.

`value` and `threshold` share a unit per kind: offline = seconds without a share vs the worker's bound;
hashrate_drop = % below the 24 h average vs the allowed %; over_temperature = °C vs the limit;
fan_failure = fan reading (0) vs 0; unprofitable = profit over the window (electricity currency) vs 0.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class AlertKind(enum.StrEnum):
    OFFLINE = "worker_offline"
    HASHRATE_DROP = "hashrate_drop"
    OVER_TEMPERATURE = "over_temperature"
    FAN_FAILURE = "fan_failure"
    UNPROFITABLE = "unprofitable"


ALERT_KINDS: tuple[str, ...] = tuple(k.value for k in AlertKind)

SEVERITY: dict[AlertKind, str] = {
    AlertKind.OFFLINE: "critical",
    AlertKind.HASHRATE_DROP: "warning",
    AlertKind.OVER_TEMPERATURE: "critical",
    AlertKind.FAN_FAILURE: "critical",
    AlertKind.UNPROFITABLE: "warning",
}

#: Temperature limit (°C) per device class when the worker sets none (seed 002: temperature_limit 80 for its
#: ASICs); GPUs throttle around 83-90 °C, CPUs around 95-100 °C.
CLASS_TEMPERATURE_LIMIT: dict[str, float] = {"asic": 80.0, "gpu": 85.0, "cpu": 90.0}
DEFAULT_TEMPERATURE_LIMIT = 85.0

ALERT_OPENED = "alert.opened"
ALERT_CLEARED = "alert.cleared"


@dataclass(frozen=True)
class AlertKey:
    """A condition: at most one open alert per key. `device_id` is '' for worker-level kinds."""

    kind: AlertKind
    miner: str
    worker: str
    device_id: str = ""


def alert_id(key: AlertKey, opened_at: dt.datetime) -> str:
    """Stable id of the alert of `key` opened at `opened_at` (ms): 16 hex digits."""
    raw = f"{key.kind}\x1f{key.miner}\x1f{key.worker}\x1f{key.device_id}\x1f{int(opened_at.timestamp() * 1000)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """A row of `alerts` (newest version)."""

    id: str
    kind: str
    miner: str
    worker: str
    device_id: str
    severity: str
    opened_at: dt.datetime
    cleared_at: dt.datetime | None
    value: float
    threshold: float
    message: str
    updated_at: dt.datetime

    @property
    def key(self) -> AlertKey:
        return AlertKey(AlertKind(self.kind), self.miner, self.worker, self.device_id)

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    def as_json(self) -> dict[str, Any]:
        """The `alert` object of webhook and push bodies (ISO 8601 UTC times)."""
        return {
            "id": self.id, "kind": self.kind, "miner": self.miner, "worker": self.worker,
            "device_id": self.device_id, "severity": self.severity, "status": "open" if self.is_open else "cleared",
            "opened_at": _iso(self.opened_at), "cleared_at": _iso(self.cleared_at) if self.cleared_at else None,
            "value": self.value, "threshold": self.threshold, "message": self.message,
        }


ALERT_COLUMNS: tuple[str, ...] = ("id", "kind", "miner", "worker", "device_id", "severity", "opened_at",
                                  "cleared_at", "value", "threshold", "message", "updated_at")


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc(value: Any) -> dt.datetime:
    """A DateTime64 read from ClickHouse as an aware UTC datetime."""
    at: dt.datetime = value
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def alert_from_row(row: Sequence[Any]) -> Alert:
    """An `Alert` from a row selected in ALERT_COLUMNS order."""
    (id_, kind, miner, worker, device, severity, opened, cleared, value, threshold, message, updated) = row
    return Alert(str(id_), str(kind), str(miner), str(worker), str(device), str(severity), utc(opened),
                 utc(cleared) if cleared is not None else None, float(value), float(threshold), str(message),
                 utc(updated))
