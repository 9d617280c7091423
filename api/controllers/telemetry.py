"""`POST /telemetry`: a rig agent's batch of hardware readings, answered item by item (api.services.
telemetry_ingest). Its worker token (`psw_...`) sends its own worker's readings (miner and worker may be
omitted); a key with `write` sends readings of its participants' miners (admins: any)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from api.auth_workers import WORKER_TOKEN
from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.envelope import Envelope, ErrorEnvelope, Meta
from api.errors import Forbidden
from api.openapi import BEARER
from api.security import Permission, Principal, principal_of, requires
from api.services.participants import ParticipantService
from api.services.registry import Actor
from api.services.telemetry_ingest import MAX_ITEMS, Sender, TelemetryAnswer, TelemetryIntake, ingest
from api.services.workers import WorkerService

RESPONSES = {
    **ERROR_RESPONSES, **AUTH_RESPONSES,
    413: ResponseSpec(ErrorEnvelope, description=f"INVALID_REQUEST: more than {MAX_ITEMS} readings"),
    503: ResponseSpec(ErrorEnvelope, description="INTERNAL_ERROR: the broker did not take the readings; retry"),
}
_WRITE = requires(Permission.WRITE)


async def worker_or_writer(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A worker token (any worker: its readings are then restricted to it), or a caller with `write`."""
    if principal_of(connection).method != WORKER_TOKEN:
        await _WRITE(connection, handler)


class TelemetryController(Controller):
    path = "/telemetry"
    tags = ["telemetry"]

    @post("/", summary="Rig agent: report a batch of hardware readings (answered per item)", responses=RESPONSES,
          status_code=202, guards=[worker_or_writer], security=[{BEARER: []}],
          description=f"A JSON array of readings (schemas.telemetry.TelemetryReading), or `{{\"readings\": [...]}}`, "
                      f"at most {MAX_ITEMS}. Authenticated by the worker's token (`psw_...`; `miner` and `worker` "
                      "may be omitted) or a key with `write`. The accepted readings are on the `telemetry` topic "
                      "when this answers; each rejected item says why.")
    async def report(self, data: Any, caller: Principal, actor: Actor, worker_service: WorkerService,
                     participant_service: ParticipantService, meta: Meta,
                     telemetry_intake: TelemetryIntake | None) -> Envelope[TelemetryAnswer]:
        if caller.method == WORKER_TOKEN:
            row = await worker_service.row(int(caller.worker_id))
            if row is None:
                raise Forbidden("the worker token's worker is gone", details={"worker_id": caller.worker_id})
            sender = Sender(miner=row.address, worker=row.worker_name)
        elif actor.admin:
            sender = Sender()
        else:
            owned = await participant_service.owned_by(actor)
            sender = Sender(miners=frozenset(p.ton_wallet_address for p in owned))
        now_ms = int(meta.timestamp.timestamp() * 1000)
        return Envelope(data=await ingest(telemetry_intake, data, sender, now_ms), meta=meta)
