"""Worker tokens: how a rig agent authenticates (`Authorization: Bearer psw_<worker id>_<secret>`).

`WorkerTokenResolver` is registered with the authenticator for the `psw_` prefix; a valid token of a
worker that is not deleted becomes `Principal(method="worker_token", worker_id=...)` with no permission, so
it opens nothing but its own worker's agent endpoints (`agent_or_writer`): polling pending commands and
acknowledging them. Users with `write` may call those endpoints too (for their own workers).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import Forbidden
from api.security import Permission, Principal, Tier, principal_of, requires
from api.security_events import EVENTS
from api.services.workers import TOKEN_PREFIX, WorkerService

WORKER_TOKEN = "worker_token"


class WorkerTokenResolver:
    """`psw_...` -> the worker's Principal, or None (unknown, wrong secret, deleted worker)."""

    prefix = TOKEN_PREFIX

    def __init__(self, workers: WorkerService) -> None:
        self._workers = workers

    async def __call__(self, token: str) -> Principal | None:
        row = await self._workers.verify_token(token)
        if row is None:
            return None
        return Principal(subject=f"worker:{row.id}", tier=Tier.AUTHENTICATED, method=WORKER_TOKEN,
                         worker_id=str(row.id))


_WRITE = requires(Permission.WRITE)


async def agent_or_writer(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of the agent endpoints: the worker's own token, or a caller with `write` (ownership is then
    checked by the service)."""
    caller = principal_of(connection)
    if caller.method == WORKER_TOKEN:
        if caller.worker_id != str(connection.path_params.get("worker_id")):
            EVENTS.record("forbidden")
            raise Forbidden("a worker token may only touch its own worker",
                            details={"token_worker_id": caller.worker_id})
        return
    await _WRITE(connection, handler)
