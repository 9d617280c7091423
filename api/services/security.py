"""The security reports (seed 001 GET /security/audit and /security/threats), from real counters.

Counters (`api.security_events.EVENTS`) count since this API process started: failed authentications
(UNAUTHORIZED), forbidden requests, rate-limit violations and malformed requests (INVALID_REQUEST). Banned
IPs come from the Stratum gateway running in the same process (`ApiDeps.stratum_bans`); without a gateway in
the process the list is empty. Each field's meaning is in `api.dto.auth`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psutil

from api.auth.store import AccountStore
from api.dto.auth import BlockedIp, SecurityAudit, SecurityThreats, SuspiciousActivity
from api.ratelimit import RateLimiter
from api.security_events import EVENTS
from schemas.clock import Clock

StratumBans = Callable[[], list[BlockedIp]]


class SecurityService:
    def __init__(self, store: AccountStore, limiter: RateLimiter, clock: Clock, *, jwt_enabled: bool,
                 basic_auth: bool, stratum_bans: StratumBans | None = None) -> None:
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._jwt = jwt_enabled
        self._basic = basic_auth
        self._bans = stratum_bans
        self._since = dt.datetime.fromtimestamp(psutil.Process().create_time(), dt.UTC)

    def bans(self) -> list[BlockedIp]:
        return sorted(self._bans(), key=lambda b: b.ip) if self._bans is not None else []

    def threats(self) -> SecurityThreats:
        counts = EVENTS.counts()
        bans = self.bans()
        return SecurityThreats(
            active_threats=len(bans),
            blocked_ips=[b.ip for b in bans],
            suspicious_activity=SuspiciousActivity(
                failed_authentications=counts["unauthorized"], rate_limit_violations=counts["rate_limited"],
                malformed_requests=counts["malformed"], forbidden_requests=counts["forbidden"]),
            blocked=bans,
            counting_since=self._since,
        )

    async def audit(self) -> SecurityAudit:
        counts = EVENTS.counts()
        weaknesses = [self._basic, not self._limiter.enabled]
        level = ("high", "medium", "low")[min(2, sum(weaknesses))]
        return SecurityAudit(
            last_audit=await self._store.last_audit(),
            security_level=level,
            threats_detected=sum(counts.values()) + len(self.bans()),
            ddos_protection="active" if self._limiter.enabled or self._bans is not None else "inactive",
            rate_limiting="enforced" if self._limiter.enabled else "disabled",
            ssl_certificate="not_terminated",
            firewall_status="active" if self._bans is not None else "unknown",
            basic_auth=self._basic,
            jwt_enabled=self._jwt,
            rate_limits=self._limiter.limits(),
            events=counts,
        )
