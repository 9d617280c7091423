"""Requests and responses of authentication, API keys, users and the security reports (seed 001
"Authentication", "Security"). Seed fields first, with the seed's JSON types; poolstream's extras after."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

Username = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
                                       description="1-64 letters, digits, _ . @ -")]
Given = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]  # any: a wrong one is UNAUTHORIZED
NewPassword = Annotated[str, msgspec.Meta(min_length=10, max_length=1024, description="at least 10 characters")]


class Credentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /auth/api-key and /auth/token."""

    username: Given
    password: Given


class ApiKeyIssued(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 POST /auth/api-key
    api_key: str  # shown once: only its sha256 is stored
    expires_at: dt.datetime
    permissions: list[str]
    # -- poolstream extras
    key_id: str  # to list (GET /auth/keys) and revoke (DELETE /auth/keys/{key_id}) it
    tier: str
    username: str


class TokenIssued(msgspec.Struct, frozen=True, kw_only=True):
    token: str  # an HS256 JWT: send as `Authorization: Bearer <token>`
    token_type: str
    expires_at: dt.datetime
    permissions: list[str]
    tier: str


class KeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One API key, without its secret."""

    key_id: str
    username: str
    permissions: list[str]
    tier: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool
    active: bool  # neither revoked nor expired


class NewUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /users (admin)."""

    username: Username
    password: NewPassword
    role: str = "read"  # read | write | admin | system (api.security.ROLES)
    tier: str = "authenticated"  # authenticated | premium | enterprise


class UserInfo(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    user_id: str
    role: str
    permissions: list[str]
    tier: str
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class Revoked(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    revoked: bool


class SuspiciousActivity(msgspec.Struct, frozen=True, kw_only=True):
    failed_authentications: int  # UNAUTHORIZED answers since this API process started
    rate_limit_violations: int  # RATE_LIMITED answers since start
    malformed_requests: int  # INVALID_REQUEST answers since start
    forbidden_requests: int  # FORBIDDEN answers since start (poolstream extra)


class BlockedIp(msgspec.Struct, frozen=True, kw_only=True):
    ip: str  # an IPv4 address, or an IPv6 /64 network
    reason: str  # abuse | invalid_shares
    detail: str
    expires_at: dt.datetime


class SecurityThreats(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /security/threats
    active_threats: int  # IPs banned by the Stratum gateway right now
    blocked_ips: list[str]
    suspicious_activity: SuspiciousActivity
    # -- poolstream extras
    blocked: list[BlockedIp]  # the same IPs with reason and expiry
    counting_since: dt.datetime  # when this process started counting


class SecurityAudit(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /security/audit
    last_audit: dt.datetime | None  # newest entry of the audit log (who changed what); null when empty
    security_level: str  # high: JWT off or on with a secret, Basic off, limits on; medium: one is off; low: both
    threats_detected: int  # suspicious requests since start + active Stratum bans
    ddos_protection: str  # active: the Stratum gateway's bans and connection limits run in this process
    rate_limiting: str  # enforced | disabled
    ssl_certificate: str  # not_terminated: poolstream serves plain HTTP; TLS ends at the reverse proxy
    firewall_status: str  # active when Stratum bans are enabled in this process, else unknown
    # -- poolstream extras
    basic_auth: bool
    jwt_enabled: bool
    rate_limits: dict[str, int]  # requests per minute by tier
    events: dict[str, int]  # security event counters since start, by kind
