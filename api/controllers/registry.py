"""Wiring of the registry resources (participants, workers, commands, optimization): their services, the
`actor` dependency (caller + client IP, for ownership and the audit log) and the worker-token resolver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec

from api.auth_workers import WorkerTokenResolver
from api.envelope import ErrorEnvelope
from api.security import Principal
from api.services.commands import CommandService
from api.services.db import Db
from api.services.optimization import OptimizationService
from api.services.participants import ParticipantService
from api.services.registry import Actor, Registry
from api.services.workers import StratumEndpoints, WorkerService
from schemas.clock import Clock

#: Errors every registry endpoint documents besides 400/500.
AUTH_RESPONSES: dict[int, ResponseSpec] = {
    401: ResponseSpec(ErrorEnvelope, description="UNAUTHORIZED: no or bad credentials"),
    403: ResponseSpec(ErrorEnvelope, description="FORBIDDEN: the credentials lack the permission"),
    404: ResponseSpec(ErrorEnvelope, description="NOT_FOUND: no such resource (or not yours)"),
}


def provide_actor(request: Request[Any, Any, Any], caller: Principal) -> Actor:
    return Actor.of(caller, request.client.host if request.client else "")


@dataclass(frozen=True)
class RegistryServices:
    participants: ParticipantService
    workers: WorkerService
    commands: CommandService
    optimization: OptimizationService

    @classmethod
    def build(cls, db: Db, clock: Clock, stratum: StratumEndpoints) -> RegistryServices:
        registry = Registry(db, clock)
        participants = ParticipantService(registry)
        workers = WorkerService(registry, participants, stratum)
        commands = CommandService(registry, workers)
        return cls(participants, workers, commands, OptimizationService(registry, workers, commands))

    def token_resolver(self) -> WorkerTokenResolver:
        """Register with the authenticator: `authenticator.register_resolver(r.prefix, r)`."""
        return WorkerTokenResolver(self.workers)

    def dependencies(self) -> dict[str, Provide]:
        def const(value: object) -> Provide:
            getter: Callable[[], object] = lambda: value  # noqa: E731
            return Provide(getter, sync_to_thread=False)

        return {
            "actor": Provide(provide_actor, sync_to_thread=False),
            "participant_service": const(self.participants),
            "worker_service": const(self.workers),
            "command_service": const(self.commands),
            "optimization_service": const(self.optimization),
        }
