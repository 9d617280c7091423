"""JWTs (HS256, pyjwt): claims `sub`, `permissions` (or `role`), `tier`, `exp` (and `iat` when we issue).

Expiry is judged against the injected clock, not the process's wall clock, like everything else here.
A JWT cannot be revoked before it expires: keep `API_JWT_TTL_S` short and use API keys for long-lived access.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt

from api.errors import Unauthorized
from api.security import ROLE_PERMISSIONS, Permission, Principal, Tier

ALGORITHM = "HS256"
NO_SECRET = "JWTs are not accepted: the server has no API_JWT_SECRET; use an API key (POST /api/v1/auth/api-key)"


def issue(secret: str, subject: str, permissions: frozenset[Permission], tier: Tier, now: dt.datetime,
          ttl_s: int) -> tuple[str, dt.datetime]:
    """A signed token for `subject` and when it expires."""
    expires = now + dt.timedelta(seconds=ttl_s)
    claims = {"sub": subject, "permissions": sorted(str(p) for p in permissions), "tier": str(tier),
              "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires.replace(microsecond=0)


def decode(secret: str | None, token: str, now: dt.datetime) -> Principal:
    """The caller a token names, or `Unauthorized` saying why not (bad signature, expired, bad claims)."""
    if not secret:
        raise Unauthorized(NO_SECRET)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["sub", "exp"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid JWT: {exc}") from None
    exp, nbf = claims.get("exp"), claims.get("nbf")
    stamp = now.timestamp()
    if not isinstance(exp, int | float) or stamp >= exp:
        raise Unauthorized("the JWT has expired", details={"expired_at": exp})
    if isinstance(nbf, int | float) and stamp < nbf:
        raise Unauthorized("the JWT is not valid yet")
    return Principal(subject=str(claims["sub"]), permissions=_permissions(claims), tier=_tier(claims),
                     method="jwt", claims=claims)


def _permissions(claims: dict[str, Any]) -> frozenset[Permission]:
    if "permissions" in claims:
        given = claims["permissions"]
        if not isinstance(given, list) or not all(isinstance(p, str) for p in given):
            raise Unauthorized("JWT claim `permissions` must be a list of strings")
        try:
            return frozenset(Permission(p) for p in given)
        except ValueError:
            raise Unauthorized(f"JWT claim `permissions` must hold only {', '.join(Permission)}") from None
    role = claims.get("role")
    if role not in ROLE_PERMISSIONS:
        raise Unauthorized(f"a JWT needs a `permissions` list or a `role` ({', '.join(ROLE_PERMISSIONS)})")
    return ROLE_PERMISSIONS[str(role)]


def _tier(claims: dict[str, Any]) -> Tier:
    try:
        return Tier(claims.get("tier", Tier.AUTHENTICATED))
    except ValueError:
        raise Unauthorized(f"JWT claim `tier` must be one of {', '.join(Tier)}") from None
