"""Maintenance mode: while it is on, writes under /api/v1 answer 503 MAINTENANCE; reads keep working.

A write is POST, PUT, PATCH or DELETE. `/api/v1/admin/*` (to switch it off again, back up, query) and
`/api/v1/auth/*` (to get the key that does so) stay open. The flag is `MaintenanceState.on`, switched live by
`PUT /api/v1/admin/config {"section": "api", "settings": {"maintenance_mode": true}}` (api.services.live_config).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.auth.middleware import send_error
from api.errors import Maintenance

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class MaintenanceState:
    on: bool = False


class MaintenanceMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, state: MaintenanceState, prefix: str = "/api/v1") -> None:
        self._state = state
        self._prefix = prefix
        self._open = (f"{prefix}/admin/", f"{prefix}/auth/")

    def refuses(self, method: str, path: str) -> bool:
        """Whether maintenance mode (if on) refuses this request."""
        return (method in WRITE_METHODS and path.startswith(f"{self._prefix}/")
                and not path.startswith(self._open))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self._state.on and self.refuses(str(scope.get("method", "")), scope["path"]):
            await send_error(scope, send, Maintenance(
                "the API is in maintenance mode: writes are refused, reads work "
                "(an admin ends it with PUT /api/v1/admin/config {\"section\": \"api\", "
                "\"settings\": {\"maintenance_mode\": false}})", details={"method": scope.get("method", "")}))
            return
        await next_app(scope, receive, send)
