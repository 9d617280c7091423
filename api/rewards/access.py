"""Who may call the rewards resource, as seed 003's roles: user = the `read` or `write` role, ADMIN = `admin`,
SYSTEM = `system` (api.security); and the per-role rate limits (user 100/min, admin 500/min, system none).

What the other rewards modules rely on:
- guards `USER`, `ADMIN`, `SYSTEM` (lists for `guards=`), `role_of(caller)` ("user" | "ADMIN" | "SYSTEM");
- `Callers.user_id(caller)`: the caller's `userId` (users.user_id, a UUID string): the API key's user; for a
  JWT, its `userId` claim, else the user named by `sub`, else `sub` itself;
- `Callers.may_see(caller, user_id)` / `ensure_own(caller, user_id)`: a user reads only their own data, an
  ADMIN (or SYSTEM) anyone's; refused with REWARD_004 (403).
The limiter counts per caller (subject; client IP when anonymous) in fixed one-minute windows in this process,
answers 429 as a problem, and sets X-RateLimit-Limit/Remaining/Reset (the pool's limiter skips `/rewards`).
"""

from __future__ import annotations

import math
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.store import AccountStore
from api.errors import Forbidden, RateLimited
from api.rewards.problems import MEDIA_TYPE, problem_bytes, problem_of
from api.rewards.settings import RewardsSettings
from api.security import SCOPE_KEY, Guard, Permission, Principal, requires
from api.security_events import EVENTS
from api.services.db import Db
from schemas.clock import Clock

USER: list[Guard] = [requires(Permission.READ)]
ADMIN: list[Guard] = [requires(Permission.ADMIN)]
SYSTEM: list[Guard] = [requires(Permission.SYSTEM)]


def role_of(caller: Principal) -> str:
    if caller.has(Permission.SYSTEM):
        return "SYSTEM"
    return "ADMIN" if caller.has(Permission.ADMIN) else "user"


class Callers:
    """Resolves a caller's userId (cached per subject for the process: users.user_id never changes)."""

    def __init__(self, db: Db) -> None:
        self._store = AccountStore(db)
        self._known: dict[str, str] = {}

    async def user_id(self, caller: Principal) -> str:
        if caller.user_id:
            return caller.user_id
        claimed = caller.claims.get("userId")
        if isinstance(claimed, str) and claimed:
            return claimed
        if caller.subject not in self._known:
            row = await self._store.user(caller.subject)
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[caller.subject] = row.user_id if row is not None else caller.subject
        return self._known[caller.subject]

    async def may_see(self, caller: Principal, user_id: str) -> bool:
        return caller.has(Permission.ADMIN) or user_id == await self.user_id(caller)

    async def ensure_own(self, caller: Principal, user_id: str) -> None:
        if not await self.may_see(caller, user_id):
            raise Forbidden(f"`{caller.subject}` may only read its own rewards (userId {user_id!r} is another's)")


class RewardsRateLimit(ASGIMiddleware):
    """Per-role limits of the rewards resource (router middleware: runs after authentication)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: RewardsSettings, clock: Clock, *, enabled: bool = True) -> None:
        self._settings = settings
        self._clock = clock
        self._enabled = enabled
        self._window = -1
        self._counts: dict[str, int] = {}

    def limit_of(self, caller: Principal) -> int | None:
        if caller.has(Permission.SYSTEM):
            return None
        return self._settings.admin_per_min if caller.has(Permission.ADMIN) else self._settings.user_per_min

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        found = scope.get(SCOPE_KEY)
        caller = found if isinstance(found, Principal) else None
        limit = self.limit_of(caller) if caller is not None else self._settings.user_per_min
        if not self._enabled or limit is None:
            await next_app(scope, receive, send)
            return
        client = scope.get("client")
        who = caller.subject if caller is not None and caller.authenticated else f"ip:{client[0] if client else ''}"
        now = time.time()
        window = int(now // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(who, 0) + 1
        self._counts[who] = count
        reset = (window + 1) * 60
        headers = [(b"x-ratelimit-limit", str(limit).encode()),
                   (b"x-ratelimit-remaining", str(max(0, limit - count)).encode()),
                   (b"x-ratelimit-reset", str(reset).encode())]
        if count > limit:
            EVENTS.record("rate_limited")
            retry = max(1, math.ceil(reset - now))
            exc = RateLimited(f"rate limit of {limit} requests per minute exceeded; retry in {retry} s")
            body = problem_bytes(problem_of(exc, scope["path"], self._clock.now()))
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                                    (b"retry-after", str(retry).encode()), *headers]})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await next_app(scope, receive, with_headers)
