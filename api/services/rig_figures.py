"""GET /workers/{id}/metrics and /workers/{id}/stats: a registered worker's hardware series and figures.

The worker is resolved through the registry (`WorkerService.owned`: another owner's worker is a 404); its
rig is (address, worker_name). Stats call THE rig computation (`sinks.rig_figures.rig_figures`, the one the
jobs and alerts use) in a worker thread, once over the last 10 minutes (current figures) and once over the
requested window (efficiency and profitability)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from clickhouse_connect.driver.client import Client

from api.dto.hardware import WorkerMetrics, WorkerStats
from api.errors import InvalidRequest
from api.services.db import Db
from api.services.registry import Actor
from api.services.windows import to_ms
from api.services.worker_metrics import worker_series
from api.services.workers import WorkerService
from schemas.clock import Clock
from schemas.coins import to_decimal
from sinks.rig_figures import RigFigures, RigSettings, rig_figures

CURRENT_S = 600
MAX_STATS_HOURS = 24 * 30


def _text(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


class WorkerHardwareService:
    def __init__(self, db: Db, client: Client, clock: Clock, workers: WorkerService, rigs: RigSettings) -> None:
        self._db = db
        self._client = client
        self._clock = clock
        self._workers = workers
        self._rigs = rigs

    async def metrics(self, actor: Actor, worker_id: int, hours: int) -> WorkerMetrics:
        row = await self._workers.owned(actor, worker_id)
        step, points = await worker_series(self._db, row.address, row.worker_name, to_ms(self._clock.now()), hours)
        return WorkerMetrics(worker_id=row.id, worker_name=row.worker_name, address=row.address, hours=hours,
                             step_seconds=step, points=points)

    async def stats(self, actor: Actor, worker_id: int, hours: int) -> WorkerStats:
        if not 1 <= hours <= MAX_STATS_HOURS:
            raise InvalidRequest(f"hours must be in 1..{MAX_STATS_HOURS}", details={"hours": hours})
        row = await self._workers.owned(actor, worker_id)
        at = self._clock.now()
        now_ms = to_ms(at)
        current = await self._figures(row.address, row.worker_name, now_ms, CURRENT_S)
        window = await self._figures(row.address, row.worker_name, now_ms, hours * 3600)
        w = window or RigFigures(miner=row.address, worker=row.worker_name, device_class="unknown", algorithm=None,
                                 site="", window_s=hours * 3600, currency=self._rigs.telemetry.electricity_currency,
                                 profit_reason="no telemetry or shares in the window")
        c = current or RigFigures(miner=row.address, worker=row.worker_name, device_class=w.device_class,
                                  algorithm=w.algorithm, site=w.site, window_s=CURRENT_S)
        revenue_str = None
        if w.coin is not None:
            try:
                revenue_str = to_decimal(w.revenue_base_units, self._rigs.coins.coin(w.coin).decimals)
            except ValueError:
                revenue_str = None
        return WorkerStats(
            worker_id=row.id, worker_name=row.worker_name, address=row.address, device_class=w.device_class,
            algorithm=w.algorithm, site=w.site, online=c.measured_hashrate > 0, hashrate=c.measured_hashrate,
            reported_hashrate=c.reported_hashrate, temperature=c.temperature_avg, temperature_max=c.temperature_max,
            power_w=c.power_w, fan_pct=c.fan_pct, utilization=c.utilization_pct, window_seconds=w.window_s,
            avg_hashrate=w.measured_hashrate, avg_reported_hashrate=w.reported_hashrate, avg_power_w=w.power_w,
            hardware_errors=w.hardware_errors, efficiency=w.efficiency, efficiency_unit=w.efficiency_unit,
            coin=w.coin, revenue_base_units=w.revenue_base_units, revenue_str=revenue_str,
            revenue_source=w.revenue_source, currency=w.currency, coin_price=_text(w.coin_price),
            revenue_fiat=_text(w.revenue_fiat), energy_kwh=str(w.energy_kwh), price_kwh=str(w.price_kwh),
            power_cost=str(w.power_cost), profit=_text(w.profit), profit_reason=w.profit_reason, updated_at=at)

    async def _figures(self, miner: str, worker: str, now_ms: int, window_s: int) -> RigFigures | None:
        found = await asyncio.to_thread(rig_figures, self._client, now_ms, window_s, self._rigs, miner=miner,
                                        worker=worker)
        return found[0] if found else None
