"""Job `alerts`: evaluate the alert rules (`jobs.alert_rules`) every ALERTS_INTERVAL_S and keep table `alerts`
true: open an alert for a condition that holds and has none open, clear the open alert of a condition that
ended. It is the only writer of `alerts`; notifications are the dispatcher's (`jobs.alert_notify`), so a
slow webhook never delays an evaluation.

Guarantees: at most one open alert per (kind, miner, worker, device) — the open alerts are read before
anything is written and a run writes at most one row per key; no storms — an alert is written when it opens
and when it clears, nothing in between, and temperature and hashrate clear only past a hysteresis band; a
muted worker opens no alert (its open ones still clear). An open alert whose condition can no longer be
observed (no telemetry in the window, no rig figures) clears, except worker offline, which stays open until
the worker shares again. Also sets the gauge `poolstream_alerts_active{kind}`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from jobs import alert_reads as reads
from jobs.alert_rules import (
    OFFLINE_FLOOR_S,
    Finding,
    RigProfit,
    State,
    Thresholds,
    fan_failure,
    hashrate_drop,
    offline,
    over_temperature,
    unprofitable,
)
from jobs.rig_figures import RigSettings, rig_figures
from schemas.alerts import ALERT_COLUMNS, ALERT_KINDS, SEVERITY, Alert, AlertKey, AlertKind, alert_id
from schemas.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: Rig profit is judged over this window (seconds).
PROFIT_WINDOW_S = 3600

Profits = Callable[[int], Sequence[RigProfit]]

_GAUGE: Gauge | None = None


def active_gauge(registry: CollectorRegistry = REGISTRY) -> Gauge:
    """`poolstream_alerts_active{kind}` (registered once per process in the default registry)."""
    global _GAUGE
    if registry is not REGISTRY:
        return Gauge("poolstream_alerts_active", "Open alerts by kind", ["kind"], registry=registry)
    if _GAUGE is None:
        _GAUGE = Gauge("poolstream_alerts_active", "Open alerts by kind", ["kind"], registry=registry)
    return _GAUGE


def rig_profits(client: Client, settings: RigSettings, window_s: int = PROFIT_WINDOW_S) -> Profits:
    """The unprofitable rule's input from `jobs.rig_figures.rig_figures` (profit over `window_s`)."""

    def profits(now_ms: int) -> list[RigProfit]:
        return [RigProfit(f.miner, f.worker, None if f.profit is None else float(f.profit), f.currency)
                for f in rig_figures(client, now_ms, window_s, settings)]

    return profits


@dataclass(frozen=True)
class AlertsRun:
    opened: list[Alert]
    cleared: list[Alert]
    active: dict[str, int]  # kind -> open alerts after the run


def apply(findings: Sequence[Finding], open_alerts: Mapping[AlertKey, Alert], thresholds: Callable[[str, str], Thresholds],
          now: dt.datetime) -> tuple[list[Alert], list[Alert]]:
    """The rows to write for `findings` given the open alerts: (opened, cleared)."""
    opened: list[Alert] = []
    cleared: list[Alert] = []
    seen: set[AlertKey] = set()
    for f in findings:
        if f.key in seen:
            continue  # one row per key and run
        seen.add(f.key)
        current = open_alerts.get(f.key)
        if f.state is State.ACTIVE and current is None and not thresholds(f.key.miner, f.key.worker).muted:
            opened.append(Alert(alert_id(f.key, now), f.key.kind.value, f.key.miner, f.key.worker, f.key.device_id,
                                SEVERITY[f.key.kind], now, None, f.value, f.threshold, f.message, now))
        elif f.state is State.CLEAR and current is not None:
            cleared.append(_cleared(current, now))
    for key, current in open_alerts.items():
        if key not in seen and key.kind is not AlertKind.OFFLINE:
            cleared.append(_cleared(current, now))  # no longer observable
    return opened, cleared


def _cleared(alert: Alert, now: dt.datetime) -> Alert:
    version = max(now, alert.updated_at + dt.timedelta(milliseconds=1))
    return dataclasses.replace(alert, cleared_at=now, updated_at=version)


@dataclass
class AlertsJob:
    client: Client
    defaults: Thresholds
    clock: Clock = field(default_factory=SystemClock)
    profits: Profits | None = None
    gauge: Gauge | None = None
    offline_floor_s: float = OFFLINE_FLOOR_S
    id: str = "alerts"
    interval_s: float = 30.0

    async def run(self) -> AlertsRun:
        return await asyncio.to_thread(self.run_once)

    def run_once(self) -> AlertsRun:
        now = self.clock.now()
        now_ms = int(now.timestamp() * 1000)
        current = {a.key: a for a in reads.open_alerts(self.client)}
        own = reads.thresholds(self.client, self.defaults.offline_intervals, self.defaults.hashrate_drop_pct)

        def of(miner: str, worker: str) -> Thresholds:
            return own.get((miner, worker), self.defaults)

        since = {k: int(a.opened_at.timestamp() * 1000) for k, a in current.items() if k.kind is AlertKind.OFFLINE}
        findings = offline(reads.worker_shares(self.client, now_ms), now_ms, of, since, self.offline_floor_s)
        down = frozenset((f.key.miner, f.key.worker) for f in findings
                         if f.state is State.ACTIVE or (f.state is State.HOLD and f.key in current))
        findings += hashrate_drop(reads.worker_days(self.client, now_ms), now_ms, of, skip=down)
        devices = reads.devices(self.client, now_ms)
        findings += over_temperature(devices, of) + fan_failure(devices, of)
        if self.profits is not None:
            findings += self._unprofitable(now_ms, of, current)
        opened, cleared = apply(findings, current, of, now)
        rows = opened + cleared
        if rows:
            self.client.insert("alerts", [[getattr(a, c) for c in ALERT_COLUMNS] for a in rows],
                               column_names=list(ALERT_COLUMNS))
        for a in opened:
            log.warning("alert opened: %s %s.%s %s: %s", a.kind, a.miner, a.worker, a.device_id, a.message)
        active = {k: 0 for k in ALERT_KINDS}
        gone = {a.id for a in cleared}
        for a in [*current.values(), *opened]:
            if a.id not in gone:
                active[a.kind] = active.get(a.kind, 0) + 1
        if self.gauge is not None:
            for kind, n in active.items():
                self.gauge.labels(kind).set(n)
        return AlertsRun(opened, cleared, active)

    def _unprofitable(self, now_ms: int, of: Callable[[str, str], Thresholds],
                      current: Mapping[AlertKey, Alert]) -> list[Finding]:
        """The unprofitable findings; if the rig figures fail, the other rules still run and the open
        unprofitable alerts are held (not cleared for want of data)."""
        assert self.profits is not None
        try:
            return unprofitable(self.profits(now_ms), of)
        except Exception as exc:  # logged with the reason; the next run tries again
            log.error("alerts: rig figures failed, unprofitable alerts held: %s: %s", type(exc).__name__, exc)
            return [Finding(k, State.HOLD) for k in current if k.kind is AlertKind.UNPROFITABLE]
