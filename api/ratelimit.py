"""Per-caller rate limits by tier (seed 001): a fixed one-minute window per caller.

`memory://` (the default) counts in this process with a plain dict, no awaits (~1 µs a request; the
`limits` library's async memory store cost ~50 µs a request here, a third of a `/stats` answer). A shared
store for several API processes is the `limits` library's (`redis://...`): the fixed-window strategy's two
store calls made directly.

The caller is the principal's subject (its client IP when anonymous); the limit is its tier's:
anonymous 100/min, authenticated 1000, premium 5000, enterprise 10000 (`API_RATE_*`; `set_limits` changes
them live). Every `/api/v1` answer, errors included, carries `X-RateLimit-Limit/Remaining/Reset/Tier`
(`Reset`: Unix time the window ends); over the limit the answer is RATE_LIMITED (429) with `Retry-After`,
counted as `rate_limited`. `/metrics` and `/schema` are not limited.

State: `memory://` (the default) keeps the counters in this process: right for `poolstream run`. Several
API processes must share one store: `API_RATE_LIMIT_STORAGE=redis://host:6379` (needs the `redis` package).
If the store fails, requests are let through and the failure is logged (an outage of the limiter must not
be an outage of the API).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.storage import storage_from_string
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.middleware import send_error
from api.errors import RateLimited
from api.security import ANONYMOUS, SCOPE_KEY, Principal, Tier
from api.security_events import EVENTS
from schemas.config import SettingsError

log = logging.getLogger(__name__)
WINDOW_S = 60
#: paths with their own limiter (seed 003's per-role limits: api/rewards/access.py), not counted here
OWN_LIMITS = ("/api/v1/rewards",)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # Unix time the window ends
    tier: Tier
    retry_after: int  # seconds until the window ends (at least 1)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"x-ratelimit-limit", str(self.limit).encode()),
                (b"x-ratelimit-remaining", str(self.remaining).encode()),
                (b"x-ratelimit-reset", str(self.reset).encode()),
                (b"x-ratelimit-tier", self.tier.value.encode())]


def open_storage(uri: str) -> Storage | None:
    """The async `limits` storage for `API_RATE_LIMIT_STORAGE` (redis://host:port, ...); None for `memory://`
    (the in-process counters)."""
    if uri == "memory://":
        return None
    scheme = uri if uri.startswith("async+") else f"async+{uri}"
    options = {"implementation": "redispy"} if scheme.split("://")[0] in ("async+redis", "async+rediss") else {}
    try:
        found = storage_from_string(scheme, **options)
    except Exception as exc:  # limits raises ConfigurationError and friends: one line naming the setting
        raise SettingsError(f"invalid setting API_RATE_LIMIT_STORAGE={uri!r}: {exc}") from None
    if not isinstance(found, Storage):
        raise SettingsError(f"invalid setting API_RATE_LIMIT_STORAGE={uri!r}: not an async storage")
    return found


class _LocalWindows:
    """Fixed one-minute windows aligned on the clock, counted in this process. The whole map is dropped when
    the window turns, so it holds at most one minute of callers."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str, now: float) -> tuple[int, float]:
        window = int(now // WINDOW_S)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count, float((window + 1) * WINDOW_S)


class RateLimiter:
    def __init__(self, per_minute: Mapping[Tier, int], storage: Storage | None = None, *,
                 enabled: bool = True) -> None:
        self.enabled = enabled
        self._storage = storage
        self._local = _LocalWindows()
        self._items: dict[Tier, RateLimitItem] = {}
        self.set_limits(per_minute)
        self._failed_at = 0.0

    def set_limits(self, per_minute: Mapping[Tier, int]) -> None:
        """Change the per-minute limit of some tiers, live (the next request uses them)."""
        for tier, value in per_minute.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"the {tier} limit must be a positive integer, got {value!r}")
        self._items = {**self._items, **{Tier(t): RateLimitItemPerMinute(v) for t, v in per_minute.items()}}
        missing = set(Tier) - set(self._items)
        if missing:
            raise ValueError(f"no limit for tier(s) {', '.join(sorted(missing))}")

    def limits(self) -> dict[str, int]:
        return {str(tier): item.amount for tier, item in self._items.items()}

    async def check(self, principal: Principal, client_ip: str) -> Decision | None:
        """Count one request of this caller; None when the store failed (the request goes through)."""
        item = self._items[principal.tier]
        who = principal.subject if principal.authenticated else f"ip:{client_ip}"
        key = item.key_for(who)
        if self._storage is None:
            now = time.time()
            count, reset_time = self._local.hit(key, now)
            return Decision(count <= item.amount, item.amount, max(0, item.amount - count), int(reset_time),
                            principal.tier, max(1, math.ceil(reset_time - now)))
        try:  # the fixed-window strategy's hit + window stats, in two store calls instead of four
            count = await self._storage.incr(key, item.get_expiry())
            reset_time = await self._storage.get_expiry(key)
        except Exception as exc:  # a store outage: let the request through, say so (at most once a minute)
            now = time.monotonic()
            if now - self._failed_at > WINDOW_S:
                self._failed_at = now
                log.warning("rate limiter store failed, requests are not limited: %s", exc)
            return None
        retry = max(1, math.ceil(reset_time - time.time()))
        return Decision(count <= item.amount, item.amount, max(0, item.amount - count), math.ceil(reset_time),
                        principal.tier, retry)


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, limiter: RateLimiter, prefix: str = "/api/v1") -> None:
        self._limiter = limiter
        self._prefix = prefix

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not self._limiter.enabled or not scope["path"].startswith(self._prefix) \
                or scope["path"].startswith(OWN_LIMITS):
            await next_app(scope, receive, send)
            return
        client = scope.get("client")
        found = scope.get(SCOPE_KEY)
        principal = found if isinstance(found, Principal) else ANONYMOUS
        decision = await self._limiter.check(principal, client[0] if client else "")
        if decision is None:
            await next_app(scope, receive, send)
            return
        headers = decision.headers()
        if not decision.allowed:
            EVENTS.record("rate_limited")
            retry = decision.retry_after
            error = RateLimited(f"rate limit of {decision.limit} requests per minute for tier {decision.tier} "
                                f"exceeded; retry in {retry} s", details={"limit": decision.limit,
                                                                           "tier": str(decision.tier),
                                                                           "retry_after": retry})
            await send_error(scope, send, error, headers + [(b"retry-after", str(retry).encode())])
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await next_app(scope, receive, with_headers)
