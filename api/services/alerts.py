"""Alerts for the API: the paged list of `alerts` (newest version of each, FINAL on a small table) and the
per-worker alert settings (`worker_alert_settings`, written only here; the evaluator reads them)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from api.dto.alerts import AlertInfo, WorkerAlertSettings, WorkerAlertSettingsUpdate
from api.envelope import Paging
from api.errors import InvalidRequest
from api.services.db import Db
from api.services.registry import Actor
from api.services.workers import WorkerRow
from schemas.alerts import ALERT_COLUMNS, ALERT_KINDS, CLASS_TEMPERATURE_LIMIT, Alert, alert_from_row, utc
from schemas.clock import Clock
from schemas.telemetry_settings import TelemetrySettings

STATUSES = {"all": 0, "open": 1, "cleared": 2}
_FILTER = (
    "({st:UInt8} = 0 OR ({st:UInt8} = 1) = isNull(cleared_at)) "
    "AND ({kind:String} = '' OR kind = {kind:String}) AND ({miner:String} = '' OR miner = {miner:String}) "
    "AND ({worker:String} = '' OR worker = {worker:String}) "
    "AND ({since:Int64} = 0 OR opened_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') OR cleared_at IS NULL "
    "OR cleared_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC'))"
)
_SETTING_FIELDS = ("muted", "offline_intervals", "temperature_limit", "hashrate_drop_pct", "fan_alerts",
                   "profit_alerts")
_SETTINGS_COLUMNS = ["worker_id", *_SETTING_FIELDS, "updated_by", "updated_at"]


@dataclasses.dataclass(frozen=True)
class _Stored:
    muted: bool = False
    offline_intervals: float | None = None
    temperature_limit: float | None = None
    hashrate_drop_pct: float | None = None
    fan_alerts: bool = True
    profit_alerts: bool = True
    updated_at: dt.datetime | None = None


class AlertService:
    def __init__(self, db: Db, clock: Clock, defaults: TelemetrySettings) -> None:
        self._db = db
        self._clock = clock
        self._defaults = defaults

    async def page(self, paging: Paging, status: str, kind: str | None, miner: str | None, worker: str | None,
                   since: dt.datetime | None) -> tuple[list[AlertInfo], int]:
        if status not in STATUSES:
            raise InvalidRequest("status must be open, cleared or all", details={"status": status})
        if kind is not None and kind not in ALERT_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(ALERT_KINDS)}", details={"kind": kind})
        since_ms = 0  # 0: no `since` filter (a `since` at or before the epoch filters nothing either)
        if since is not None:
            since_ms = max(0, int((since if since.tzinfo else since.replace(tzinfo=dt.UTC)).timestamp() * 1000))
        params: dict[str, Any] = {"st": STATUSES[status], "kind": kind or "", "miner": miner or "",
                                  "worker": worker or "", "since": since_ms,
                                  "limit": paging.limit, "offset": paging.offset}
        rows = await self._db.rows(
            f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL WHERE {_FILTER} "
            "ORDER BY opened_at DESC, id LIMIT {limit:UInt32} OFFSET {offset:UInt32}", params)
        total = await self._db.rows(f"SELECT count() FROM alerts FINAL WHERE {_FILTER}", params)
        now = self._clock.now()
        return [alert_info(alert_from_row(r), now) for r in rows], int(total[0][0])

    async def settings(self, worker: WorkerRow) -> WorkerAlertSettings:
        return self._shown(worker, await self._stored(worker.id))

    async def update(self, actor: Actor, worker: WorkerRow, body: WorkerAlertSettingsUpdate) -> WorkerAlertSettings:
        stored = _Stored() if body.reset else await self._stored(worker.id)
        changes = {f: getattr(body, f) for f in _SETTING_FIELDS if getattr(body, f) is not None}
        now = self._clock.now()
        version = now if stored.updated_at is None else max(now, stored.updated_at + dt.timedelta(milliseconds=1))
        new = dataclasses.replace(stored, **changes, updated_at=version)
        await self._db.insert("worker_alert_settings", [[worker.id, int(new.muted), new.offline_intervals,
                                                         new.temperature_limit, new.hashrate_drop_pct,
                                                         int(new.fan_alerts), int(new.profit_alerts), actor.subject,
                                                         version]], _SETTINGS_COLUMNS)
        return self._shown(worker, new)

    async def _stored(self, worker_id: int) -> _Stored:
        rows = await self._db.rows(
            f"SELECT {', '.join(_SETTING_FIELDS)}, updated_at FROM worker_alert_settings FINAL "
            "WHERE worker_id = {id:UInt64}", {"id": worker_id})
        if not rows:
            return _Stored()
        muted, intervals, limit, drop, fans, profit, updated = rows[0]
        return _Stored(bool(muted), _opt(intervals), _opt(limit), _opt(drop), bool(fans), bool(profit), utc(updated))

    def _shown(self, worker: WorkerRow, s: _Stored) -> WorkerAlertSettings:
        custom = [f for f in _SETTING_FIELDS if getattr(s, f) != getattr(_Stored(), f)]
        return WorkerAlertSettings(
            worker_id=worker.id, miner=worker.address, worker=worker.worker_name, muted=s.muted,
            offline_intervals=s.offline_intervals or self._defaults.offline_intervals,
            temperature_limit=s.temperature_limit, class_temperature_limits=dict(CLASS_TEMPERATURE_LIMIT),
            hashrate_drop_pct=s.hashrate_drop_pct or self._defaults.hashrate_drop_pct, fan_alerts=s.fan_alerts,
            profit_alerts=s.profit_alerts, custom=custom, updated_at=s.updated_at)


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def alert_info(a: Alert, now: dt.datetime) -> AlertInfo:
    end = a.cleared_at or now
    return AlertInfo(id=a.id, kind=a.kind, status="open" if a.is_open else "cleared", severity=a.severity,
                     miner=a.miner, worker=a.worker, device_id=a.device_id, opened_at=a.opened_at,
                     cleared_at=a.cleared_at, duration_s=max(0.0, (end - a.opened_at).total_seconds()),
                     value=a.value, threshold=a.threshold, message=a.message)
