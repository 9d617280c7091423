"""Credentials for tests of guarded endpoints.

On chDB (integration tests, the `clickhouse` fixture):

    from tests.support_auth import auth_headers, create_user_key
    key = create_user_key(clickhouse, "write")           # a user of that role (tier optional) and its API key
    client.get("/api/v1/...", headers=auth_headers(key))

Without ClickHouse (unit tests with fakes): a JWT signed with `TEST_JWT_SECRET`; the app must be built with
`ApiSettings(jwt_secret=TEST_JWT_SECRET)`:

    client.get("/api/v1/...", headers=jwt_headers("admin"))
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from clickhouse_connect.driver.client import Client

from api.auth import tokens
from api.auth.accounts import AccountService
from api.auth.authenticator import Authenticator
from api.auth.store import AccountStore
from api.security import ROLE_PERMISSIONS, Tier
from api.services.db import Db
from schemas.clock import Clock, SystemClock

TEST_JWT_SECRET = "test-secret-of-at-least-32-characters-long"
TEST_PASSWORD = "correct horse battery staple"


def create_user_key(client: Client, role: str = "admin", *, tier: str = "authenticated", username: str | None = None,
                    password: str = TEST_PASSWORD, clock: Clock | None = None) -> str:
    """Create (or update) a user of `role` and `tier` in `client`'s database and return a new API key for it.
    Call it from synchronous test code (it runs its own event loop)."""
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    clock = clock or SystemClock()
    store = AccountStore(Db(client))
    accounts = AccountService(store, Authenticator(store, clock), clock)

    async def make() -> str:
        user, _ = await accounts.ensure_user("tests", name, password, role, tier)
        key, _ = await accounts.issue_key(user, actor="tests")
        return key

    return asyncio.run(make())


def auth_headers(credential: str) -> dict[str, str]:
    """`Authorization: Bearer <api key or JWT>`."""
    return {"Authorization": f"Bearer {credential}"}


def jwt_for(role: str = "admin", *, tier: Tier = Tier.AUTHENTICATED, subject: str | None = None,
            secret: str = TEST_JWT_SECRET, ttl_s: int = 3600, now: dt.datetime | None = None) -> str:
    """A JWT for a caller of `role` (judged against the app's clock: pass `now` when it is a FixedClock)."""
    token, _ = tokens.issue(secret, subject or f"{role}-user", ROLE_PERMISSIONS[role], tier,
                            now or dt.datetime.now(dt.UTC), ttl_s)
    return token


def jwt_headers(role: str = "admin", **kwargs: object) -> dict[str, str]:
    return auth_headers(jwt_for(role, **kwargs))  # type: ignore[arg-type]
