"""Optimization batches (seed 001/000): `POST /optimization/start`, `GET /optimization/{id}/status`."""

from __future__ import annotations

from litestar import Controller, get, post

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.registry import OptimizationStart, OptimizationStarted, OptimizationStatus
from api.envelope import Envelope, Meta
from api.security import Permission, requires
from api.services.optimization import OptimizationService
from api.services.registry import Actor

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}


class OptimizationController(Controller):
    path = "/optimization"
    tags = ["workers"]

    @post("/start", summary="Queue power/config commands for your matching workers", responses=RESPONSES,
          guards=[requires(Permission.WRITE)])
    async def start(self, data: OptimizationStart, actor: Actor, optimization_service: OptimizationService,
                    meta: Meta) -> Envelope[OptimizationStarted]:
        return Envelope(data=await optimization_service.start(actor, data), meta=meta)

    @get("/{optimization_id:str}/status", summary="Progress of an optimization batch", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def status(self, optimization_id: str, actor: Actor, optimization_service: OptimizationService,
                     meta: Meta) -> Envelope[OptimizationStatus]:
        return Envelope(data=await optimization_service.status(actor, optimization_id), meta=meta)
