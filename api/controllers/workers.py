"""Registered workers: `GET/POST /workers` (filters `participant_id`, `is_active`; paged),
`GET/PUT/PATCH/DELETE /workers/{id}`, and their commands: `POST /workers/{id}/commands` (owner, `write`),
`GET /workers/{id}/commands` (history), and the rig agent's `GET /workers/{id}/commands/pending` and
`POST /workers/{id}/commands/{command_id}/ack` (its worker token, or the owner with `write`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import Parameter

from api.auth_workers import WORKER_TOKEN, agent_or_writer
from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.registry import (
    Command,
    CommandAck,
    CommandRequest,
    Deleted,
    Worker,
    WorkerCreate,
    WorkerRegistered,
    WorkerUpdate,
)
from api.envelope import Envelope, Meta, Paging
from api.errors import NotFound
from api.openapi import BEARER
from api.paging import Id
from api.security import Permission, Principal, requires
from api.services.commands import CommandService
from api.services.registry import Actor
from api.services.workers import WorkerRow, WorkerService

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}
READ = [requires(Permission.READ)]
WRITE = [requires(Permission.WRITE)]
AGENT = [agent_or_writer]
AGENT_SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]
AGENT_AUTH = "A rig agent's worker token (`psw_...`, from POST /workers) or the owner's key with `write`."


class WorkersController(Controller):
    path = "/workers"
    tags = ["workers"]

    @get("/", summary="List your registered workers (all for admin)", responses=RESPONSES, guards=READ)
    async def list_workers(
        self, actor: Actor, paging: Paging, worker_service: WorkerService, meta: Meta,
        participant_id: Annotated[int | None, Parameter(ge=1, description="only this participant's")] = None,
        is_active: Annotated[bool | None, Parameter(description="only active (true) or inactive (false)")] = None,
    ) -> Envelope[list[Worker]]:
        found, total = await worker_service.page(actor, paging, participant_id, is_active)
        return Envelope(data=found, meta=meta.paged(paging, total))

    @post("/", summary="Register a worker: its id, token (shown once) and Stratum URL", responses=RESPONSES,
          guards=WRITE)
    async def register(self, data: WorkerCreate, actor: Actor, worker_service: WorkerService,
                       meta: Meta) -> Envelope[WorkerRegistered]:
        return Envelope(data=await worker_service.create(actor, data), meta=meta)

    @get("/{worker_id:int}", summary="One registered worker with its live figures", responses=RESPONSES,
         guards=READ)
    async def get_one(self, worker_id: Id, actor: Actor, worker_service: WorkerService,
                      meta: Meta) -> Envelope[Worker]:
        return Envelope(data=await worker_service.get(actor, worker_id), meta=meta)

    @put("/{worker_id:int}", summary="Update a worker (the fields sent)", responses=RESPONSES, guards=WRITE)
    async def replace(self, worker_id: Id, data: WorkerUpdate, actor: Actor, worker_service: WorkerService,
                      meta: Meta) -> Envelope[Worker]:
        return Envelope(data=await worker_service.update(actor, worker_id, data), meta=meta)

    @patch("/{worker_id:int}", summary="Update a worker (the fields sent)", responses=RESPONSES, guards=WRITE)
    async def update(self, worker_id: Id, data: WorkerUpdate, actor: Actor, worker_service: WorkerService,
                     meta: Meta) -> Envelope[Worker]:
        return Envelope(data=await worker_service.update(actor, worker_id, data), meta=meta)

    @delete("/{worker_id:int}", summary="Delete a worker (its token stops working)", responses=RESPONSES,
            guards=WRITE, status_code=200)
    async def remove(self, worker_id: Id, actor: Actor, worker_service: WorkerService,
                     meta: Meta) -> Envelope[Deleted]:
        return Envelope(data=await worker_service.delete(actor, worker_id), meta=meta)

    @post("/{worker_id:int}/commands", summary="Queue a command for the worker's rig agent", responses=RESPONSES,
          guards=WRITE)
    async def command(self, worker_id: Id, data: CommandRequest, actor: Actor, command_service: CommandService,
                      meta: Meta) -> Envelope[Command]:
        return Envelope(data=await command_service.queue(actor, worker_id, data), meta=meta)

    @get("/{worker_id:int}/commands", summary="The worker's latest commands, newest first", responses=RESPONSES,
         guards=READ)
    async def commands(self, worker_id: Id, actor: Actor, command_service: CommandService, meta: Meta,
                       limit: Annotated[int, Parameter(ge=1, le=100)] = 50) -> Envelope[list[Command]]:
        return Envelope(data=await command_service.history(actor, worker_id, limit), meta=meta)

    @get("/{worker_id:int}/commands/pending", summary="Rig agent: take the commands to run (marks them delivered)",
         responses=RESPONSES, guards=AGENT, security=AGENT_SECURITY, description=AGENT_AUTH)
    async def pending(self, worker_id: Id, caller: Principal, actor: Actor, worker_service: WorkerService,
                      command_service: CommandService, meta: Meta) -> Envelope[list[Command]]:
        worker = await _agent_worker(caller, actor, worker_id, worker_service)
        return Envelope(data=await command_service.pending(actor, worker), meta=meta)

    @post("/{worker_id:int}/commands/{command_id:int}/ack", summary="Rig agent: report a command done or failed",
          responses=RESPONSES, status_code=200, guards=AGENT, security=AGENT_SECURITY, description=AGENT_AUTH)
    async def ack(self, worker_id: Id, command_id: Id, data: CommandAck, caller: Principal, actor: Actor,
                  worker_service: WorkerService, command_service: CommandService, meta: Meta) -> Envelope[Command]:
        worker = await _agent_worker(caller, actor, worker_id, worker_service)
        return Envelope(data=await command_service.ack(actor, worker, command_id, data), meta=meta)


async def _agent_worker(caller: Principal, actor: Actor, worker_id: int, workers: WorkerService) -> WorkerRow:
    """The worker an agent endpoint acts on: the token's own (the guard checked the id), or one the user owns."""
    if caller.method != WORKER_TOKEN:
        return await workers.owned(actor, worker_id)
    row = await workers.row(worker_id)
    if row is None:
        raise NotFound(f"no worker {worker_id}", details={"worker_id": worker_id})
    return row
