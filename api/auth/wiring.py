"""Builds the security side of the app from `ApiDeps`: authenticator, accounts, rate limiter, security
reports, their Litestar dependencies, the middleware (in order) and the bootstrap admin at startup."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar.di import Provide
from litestar.middleware import ASGIMiddleware

from api.auth.accounts import AccountService
from api.auth.authenticator import Authenticator
from api.auth.middleware import AuthMiddleware, RefusalMiddleware
from api.auth.store import AccountStore
from api.deps import ApiDeps
from api.ratelimit import RateLimiter, RateLimitMiddleware, open_storage
from api.security import Tier
from api.services.db import Db
from api.services.security import SecurityService

log = logging.getLogger(__name__)


@dataclass
class SecurityParts:
    authenticator: Authenticator
    accounts: AccountService
    limiter: RateLimiter
    security: SecurityService
    deps: ApiDeps

    def dependencies(self) -> dict[str, Provide]:
        parts = {"authenticator": self.authenticator, "accounts": self.accounts, "rate_limiter": self.limiter,
                 "security_service": self.security}
        return {name: Provide(_constant(value), sync_to_thread=False) for name, value in parts.items()}

    def middleware(self, prefix: str) -> list[ASGIMiddleware]:
        """In order, outermost first: who is calling, their rate limit, then the refusal of bad credentials."""
        return [AuthMiddleware(self.authenticator), RateLimitMiddleware(self.limiter, prefix), RefusalMiddleware()]

    async def bootstrap_admin(self) -> None:
        """API_ADMIN_USER/API_ADMIN_PASSWORD: create or update that admin (at app start)."""
        settings = self.deps.settings
        if not settings.admin_user or not settings.admin_password:
            return
        _, what = await self.accounts.ensure_user("bootstrap", settings.admin_user, settings.admin_password, "admin")
        log.info("bootstrap admin %r %s (API_ADMIN_USER)", settings.admin_user, what)


def _constant(value: Any) -> Any:
    def provide() -> Any:
        return value

    return provide


def build_security(deps: ApiDeps, db: Db) -> SecurityParts:
    settings = deps.settings
    store = AccountStore(db)
    authenticator = Authenticator(store, deps.clock, jwt_secret=settings.jwt_secret,
                                  allow_basic=settings.allow_basic_auth)
    accounts = AccountService(store, authenticator, deps.clock, key_ttl_days=settings.key_ttl_days,
                              jwt_secret=settings.jwt_secret, jwt_ttl_s=settings.jwt_ttl_s)
    limiter = RateLimiter({Tier.ANONYMOUS: settings.rate_anonymous, Tier.AUTHENTICATED: settings.rate_authenticated,
                           Tier.PREMIUM: settings.rate_premium, Tier.ENTERPRISE: settings.rate_enterprise},
                          open_storage(settings.rate_limit_storage), enabled=settings.rate_limit_enabled)
    security = SecurityService(store, limiter, deps.clock, jwt_enabled=authenticator.jwt_enabled,
                               basic_auth=settings.allow_basic_auth, stratum_bans=deps.stratum_bans)
    return SecurityParts(authenticator, accounts, limiter, security, deps)
