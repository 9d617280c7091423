"""A registered worker's hardware (seed 004): `GET /workers/{id}/metrics?hours=24` (series) and
`GET /workers/{id}/stats?hours=24` (current figures, efficiency, profitability). Permission `read`; only the
owner (or an admin) sees a worker, others get 404."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.hardware import WorkerMetrics, WorkerStats
from api.envelope import Envelope, Meta
from api.paging import Id
from api.security import Permission, requires
from api.services.registry import Actor
from api.services.rig_figures import MAX_STATS_HOURS, WorkerHardwareService
from api.services.worker_metrics import MAX_HOURS

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}
READ = [requires(Permission.READ)]


class WorkerHardwareController(Controller):
    path = "/workers"
    tags = ["workers"]

    @get("/{worker_id:int}/metrics", summary="The worker's hardware series: hashrate, temperature, fan, power",
         responses=RESPONSES, guards=READ)
    async def metrics(self, worker_id: Id, actor: Actor, worker_hardware_service: WorkerHardwareService, meta: Meta,
                      hours: Annotated[int, Parameter(ge=1, le=MAX_HOURS)] = 24) -> Envelope[WorkerMetrics]:
        return Envelope(data=await worker_hardware_service.metrics(actor, worker_id, hours), meta=meta)

    @get("/{worker_id:int}/stats", summary="The worker's current figures, efficiency and profitability",
         responses=RESPONSES, guards=READ)
    async def stats(self, worker_id: Id, actor: Actor, worker_hardware_service: WorkerHardwareService, meta: Meta,
                    hours: Annotated[int, Parameter(ge=1, le=MAX_STATS_HOURS)] = 24) -> Envelope[WorkerStats]:
        return Envelope(data=await worker_hardware_service.stats(actor, worker_id, hours), meta=meta)
