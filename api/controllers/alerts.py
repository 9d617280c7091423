"""`GET /api/v1/alerts` (READ): alerts newest first, filtered by status, kind, miner, worker and time, paged;
`GET/PUT /api/v1/workers/{worker_id}/alerts`: a registered worker's alert settings (mute, thresholds), read
with `read` and changed with `write`, by the worker's owner (or an admin; others get NOT_FOUND)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, get, put
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.alerts import AlertInfo, WorkerAlertSettings, WorkerAlertSettingsUpdate
from api.envelope import Envelope, Meta, Paging
from api.paging import Id
from api.security import Permission, requires
from api.services.alerts import AlertService
from api.services.registry import Actor
from api.services.workers import WorkerService

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}
READ = [requires(Permission.READ)]
WRITE = [requires(Permission.WRITE)]
Text = Annotated[str | None, Parameter(max_length=200)]


class AlertsController(Controller):
    path = "/alerts"
    tags = ["alerts"]

    @get("/", summary="Alerts (worker offline, hashrate drop, over-temperature, fan failure, unprofitable rig)",
         responses=RESPONSES, guards=READ)
    async def alerts(
        self, alert_service: AlertService, paging: Paging, meta: Meta,
        status: Annotated[str, Parameter(description="open, cleared or all", max_length=16)] = "all",
        kind: Annotated[str | None, Parameter(description="worker_offline, hashrate_drop, over_temperature, "
                                                          "fan_failure or unprofitable", max_length=32)] = None,
        miner: Text = None,
        worker: Text = None,
        since: Annotated[dt.datetime | None, Parameter(
            description="only alerts opened or cleared at or after this time (ISO 8601), or still open")] = None,
    ) -> Envelope[list[AlertInfo]]:
        items, total = await alert_service.page(paging, status, kind, miner, worker, since)
        return Envelope(data=items, meta=meta.paged(paging, total))


class WorkerAlertsController(Controller):
    path = "/workers"
    tags = ["alerts"]

    @get("/{worker_id:int}/alerts", summary="A worker's alert settings (effective values)", responses=RESPONSES,
         guards=READ)
    async def settings(self, worker_id: Id, actor: Actor, worker_service: WorkerService,
                       alert_service: AlertService, meta: Meta) -> Envelope[WorkerAlertSettings]:
        worker = await worker_service.owned(actor, worker_id)
        return Envelope(data=await alert_service.settings(worker), meta=meta)

    @put("/{worker_id:int}/alerts", summary="Mute a worker or set its own alert thresholds", responses=RESPONSES,
         guards=WRITE)
    async def update(self, worker_id: Id, data: WorkerAlertSettingsUpdate, actor: Actor,
                     worker_service: WorkerService, alert_service: AlertService,
                     meta: Meta) -> Envelope[WorkerAlertSettings]:
        worker = await worker_service.owned(actor, worker_id)
        return Envelope(data=await alert_service.update(actor, worker, data), meta=meta)
