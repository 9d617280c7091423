"""Who is calling and what they may do: permissions, roles, tiers, the caller (`Principal`) and the guards.

The authentication middleware (`api.auth`) puts a `Principal` in every request's scope under `principal`;
anonymous callers get `ANONYMOUS`. Endpoints that need more declare it with a guard:
`@post(..., guards=[requires(Permission.WRITE)])`. A guard answers UNAUTHORIZED (401) to an anonymous
caller and FORBIDDEN (403) to an authenticated one without the permission; both are counted
(`api.security_events`).

Roles are named after their top permission and include those below (seed 001: `read`, `write`, `admin`;
`system` is for machine callers such as schedulers and price feeds): read < write < admin < system.
Tiers set the rate limit (seed 001): anonymous 100/min, authenticated 1000, premium 5000, enterprise 10000.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import Forbidden, Unauthorized
from api.security_events import EVENTS


class Permission(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    SYSTEM = "system"


#: role -> the permissions it grants (each role includes the ones below it)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ}),
    "write": frozenset({Permission.READ, Permission.WRITE}),
    "admin": frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN}),
    "system": frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN, Permission.SYSTEM}),
}
ROLES = tuple(ROLE_PERMISSIONS)


class Tier(enum.StrEnum):
    ANONYMOUS = "anonymous"
    AUTHENTICATED = "authenticated"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    subject: str  # username, "anonymous", or "worker:<id>" for a rig agent's worker token
    permissions: frozenset[Permission] = frozenset()
    tier: Tier = Tier.ANONYMOUS
    method: str = "anonymous"  # anonymous | api_key | jwt | basic | worker_token
    user_id: str = ""  # the users row ("" when anonymous or a worker token)
    worker_id: str = ""  # set for a worker token only
    key_id: str = ""  # the api_keys row the caller used, if any
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def authenticated(self) -> bool:
        return self.method != "anonymous"

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal(subject="anonymous")
SCOPE_KEY = "principal"


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller the authentication middleware recognised (ANONYMOUS when none)."""
    found = connection.scope.get(SCOPE_KEY)
    return found if isinstance(found, Principal) else ANONYMOUS


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires(permission: Permission) -> Guard:
    """A Litestar guard: the caller must be authenticated and hold `permission`."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # async: Litestar runs a sync guard in a worker thread, a thread hop per request
        caller = principal_of(connection)
        if not caller.authenticated:
            EVENTS.record("unauthorized")
            raise Unauthorized(
                "authentication required: send `Authorization: Bearer <api key or JWT>` "
                "(get a key with POST /api/v1/auth/api-key)",
                details={"required_permission": str(permission)},
            )
        if not caller.has(permission):
            EVENTS.record("forbidden")
            raise Forbidden(
                f"`{caller.subject}` lacks the `{permission}` permission",
                details={"required_permission": str(permission),
                         "permissions": sorted(str(p) for p in caller.permissions)},
            )

    guard.__name__ = f"requires_{permission}"
    return guard

