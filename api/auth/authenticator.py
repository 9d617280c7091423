"""The authenticator: one credential in, one `Principal` out, or `Unauthorized` saying why.

`resolve(token)` takes a bare token (an API key, a JWT, or a token of a registered kind; the WebSocket `auth`
message uses it); `resolve_header(value)` takes an `Authorization` header (`Bearer <token>`, or `Basic` when
allowed). API keys are looked up once and then kept for 30 s in memory (hash -> caller; unknown hashes too,
which is safe: a random key's hash cannot be seen before the key exists), so a request does not query
ClickHouse (JWTs and Basic credentials are kept the same way: checking them costs more than a request); a revoke in this process drops the entry at once, a revoke in another process takes effect
within the 30 s.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api.auth import tokens
from api.auth.keys import KEY_PREFIX, key_hash, key_id_of
from api.auth.passwords import hash_password, verify_password
from api.auth.store import AccountStore, UserRow
from api.errors import Unauthorized
from api.security import ROLE_PERMISSIONS, Permission, Principal, Tier
from schemas.clock import Clock

Resolver = Callable[[str], Awaitable[Principal | None]]
CACHE_TTL_S = 30.0
CACHE_MAX = 10_000
_PERMISSION_NAMES = frozenset(p.value for p in Permission)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist: a login of an unknown user costs the same time."""
    return hash_password("poolstream-timing-equaliser")


@dataclass(frozen=True)
class _Cached:
    until: float  # monotonic deadline
    principal: Principal | None  # None: refused with `error`
    error: str = ""
    expires_at: dt.datetime | None = None  # the key's own expiry


def user_principal(user: UserRow, method: str, *, key_id: str = "",
                   permissions: frozenset[Permission] | None = None) -> Principal:
    role = ROLE_PERMISSIONS.get(user.role, frozenset())
    return Principal(subject=user.username, permissions=role if permissions is None else permissions & role,
                     tier=Tier(user.tier), method=method, user_id=user.user_id, key_id=key_id)


class Authenticator:
    def __init__(self, store: AccountStore, clock: Clock, *, jwt_secret: str | None = None,
                 allow_basic: bool = False, cache_ttl_s: float = CACHE_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._jwt_secret = jwt_secret or None
        self._allow_basic = allow_basic
        self._ttl = cache_ttl_s
        self._monotonic = monotonic
        self._cache: dict[str, _Cached] = {}
        self._resolvers: list[tuple[str, Resolver]] = []

    @property
    def jwt_enabled(self) -> bool:
        return self._jwt_secret is not None

    def register_resolver(self, prefix: str, resolver: Resolver) -> None:
        """Tokens starting with `prefix` go to `resolver` (None from it: refused as unknown or revoked)."""
        if not prefix or prefix.startswith(KEY_PREFIX) or KEY_PREFIX.startswith(prefix):
            raise ValueError(f"resolver prefix {prefix!r} is empty or collides with API keys ({KEY_PREFIX})")
        self._resolvers.append((prefix, resolver))
        self._resolvers.sort(key=lambda pair: -len(pair[0]))  # longest prefix first

    async def resolve_header(self, value: str) -> Principal:
        scheme, _, rest = value.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and rest.strip():
            return await self.resolve(rest.strip())
        if scheme == "basic":
            if not self._allow_basic:
                raise Unauthorized("Basic authentication is off (development only: API_ALLOW_BASIC_AUTH=true); "
                                   "send `Authorization: Bearer <api key>`")
            return await self._basic(rest.strip())
        raise Unauthorized("unsupported Authorization header: send `Bearer <api key or JWT>`")

    async def resolve(self, token: str) -> Principal:
        """The caller `token` names; `Unauthorized` for an unknown, malformed, expired or revoked one."""
        for prefix, resolver in self._resolvers:
            if token.startswith(prefix):
                found = await resolver(token)
                if found is None:
                    raise Unauthorized("unknown or revoked token")
                return found
        if token.startswith(KEY_PREFIX):
            return await self._api_key(token)
        if token.count(".") == 2:
            return self._jwt(token)
        raise Unauthorized("unrecognised credentials: expected an API key (ps_live_...) or a JWT")

    async def login(self, username: str, password: str) -> UserRow:
        """The user whose password this is; one message for every failure (no user enumeration)."""
        user = await self._store.user(username) if username else None
        ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else _dummy_hash())
        if user is None or not ok or user.disabled:
            raise Unauthorized("wrong username or password")
        return user

    def forget_key(self, hashed: str) -> None:
        """Drop a cached key at once (this process revoked it)."""
        self._cache.pop(hashed, None)

    def forget_all(self) -> None:
        self._cache.clear()

    async def _api_key(self, token: str) -> Principal:
        hashed = key_hash(token)
        now = self._monotonic()
        cached = self._cache.get(hashed)
        if cached is None or cached.until <= now:
            cached = await self._lookup(token, hashed, now)
            self._remember(hashed, cached)
        if cached.principal is None:
            raise Unauthorized(cached.error)
        if cached.expires_at is not None and self._clock.now() >= cached.expires_at:
            raise Unauthorized("the API key has expired", details={"expired_at": cached.expires_at.isoformat()})
        return cached.principal

    def _jwt(self, token: str) -> Principal:
        """A decoded JWT, kept like a key (verifying the signature costs more than the rest of a request)."""
        if self._jwt_secret is None:
            raise Unauthorized(tokens.NO_SECRET)
        hashed = "jwt:" + key_hash(token)
        now = self._monotonic()
        cached = self._cache.get(hashed)
        if cached is None or cached.until <= now:
            try:
                principal = tokens.decode(self._jwt_secret, token, self._clock.now())
            except Unauthorized as exc:
                if "expired" in exc.message or "not valid yet" in exc.message:
                    raise  # depends on the time: judged afresh each time
                cached = _Cached(now + self._ttl, None, exc.message)
            else:
                exp = dt.datetime.fromtimestamp(float(principal.claims["exp"]), dt.UTC)
                cached = _Cached(now + self._ttl, principal, expires_at=exp)
            self._remember(hashed, cached)
        if cached.principal is None:
            raise Unauthorized(cached.error)
        if cached.expires_at is not None and self._clock.now() >= cached.expires_at:
            raise Unauthorized("the JWT has expired", details={"expired_at": int(cached.expires_at.timestamp())})
        return cached.principal

    def _remember(self, hashed: str, cached: _Cached) -> None:
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[hashed] = cached

    async def _lookup(self, token: str, hashed: str, now: float) -> _Cached:
        until = now + self._ttl
        key = await self._store.key_by_hash(hashed) if key_id_of(token) else None
        if key is None:
            return _Cached(until, None, "unknown API key")
        if key.revoked:
            return _Cached(until, None, "the API key was revoked")
        user = await self._store.user(key.username)
        if user is None or user.disabled:
            return _Cached(until, None, "the API key's user is disabled or gone")
        granted = frozenset(Permission(p) for p in key.permissions if p in _PERMISSION_NAMES)
        principal = user_principal(user, "api_key", key_id=key.key_id, permissions=granted)
        return _Cached(until, principal, expires_at=key.expires_at)

    async def _basic(self, encoded: str) -> Principal:
        hashed = "basic:" + key_hash(encoded)
        now = self._monotonic()
        cached = self._cache.get(hashed)
        if cached is not None and cached.until > now and cached.principal is not None:
            return cached.principal
        try:
            username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        if not sep:
            raise Unauthorized("malformed Basic credentials: expected base64 of username:password")
        principal = user_principal(await self.login(username, password), "basic")
        self._remember(hashed, _Cached(now + self._ttl, principal))
        return principal
