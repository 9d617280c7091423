"""Account operations: issue API keys and JWTs, create users, list and revoke keys, the bootstrap admin.

Every write is appended to `audit_log` (actor, action, target, details without secrets, client IP).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

from api.auth import tokens
from api.auth.authenticator import Authenticator, user_principal
from api.auth.keys import key_hash, new_key
from api.auth.passwords import hash_password, verify_password
from api.auth.store import AccountStore, KeyRow, UserRow, next_version
from api.errors import InvalidRequest, NotFound
from api.security import ROLE_PERMISSIONS, Permission, Principal, Tier
from schemas.clock import Clock

USER_TIERS = frozenset(t.value for t in Tier if t is not Tier.ANONYMOUS)


class AccountService:
    def __init__(self, store: AccountStore, authenticator: Authenticator, clock: Clock, *,
                 key_ttl_days: int = 365, jwt_secret: str | None = None, jwt_ttl_s: int = 3600) -> None:
        self.store = store
        self._auth = authenticator
        self._clock = clock
        self._key_ttl = dt.timedelta(days=key_ttl_days)
        self._jwt_secret = jwt_secret or None
        self._jwt_ttl_s = jwt_ttl_s

    async def issue_key(self, user: UserRow, *, actor: str, ip: str = "") -> tuple[str, KeyRow]:
        """A new API key for `user` with its role's permissions; the key text is returned once."""
        now = self._clock.now()
        key, key_id = new_key()
        permissions = tuple(sorted(str(p) for p in ROLE_PERMISSIONS[user.role]))
        row = KeyRow(key_hash=key_hash(key), key_id=key_id, username=user.username, permissions=permissions,
                     tier=user.tier, expires_at=now + self._key_ttl, revoked=False, created_at=now, updated_at=now)
        await self.store.save_key(row)
        await self.store.audit(now, actor, "api_key.create", key_id, {"username": user.username,
                                                                      "expires_at": row.expires_at}, ip)
        return key, row

    def issue_token(self, user: UserRow) -> tuple[str, dt.datetime, Principal]:
        if self._jwt_secret is None:
            raise InvalidRequest(tokens.NO_SECRET)
        principal = user_principal(user, "jwt")
        token, expires = tokens.issue(self._jwt_secret, user.username, principal.permissions, principal.tier,
                                      self._clock.now(), self._jwt_ttl_s)
        return token, expires, principal

    async def keys_of(self, username: str) -> list[KeyRow]:
        return await self.store.keys_of(username)

    async def revoke(self, caller: Principal, key_id: str, *, ip: str = "") -> KeyRow:
        """Revoke `key_id`: the caller's own key, or any key for an admin (others' keys are NOT_FOUND)."""
        key = await self.store.key_by_id(key_id)
        if key is None or (key.username != caller.subject and not caller.has(Permission.ADMIN)):
            raise NotFound(f"no API key {key_id!r} of yours", details={"key_id": key_id})
        now = self._clock.now()
        if not key.revoked:
            revoked = dataclasses.replace(key, revoked=True, updated_at=next_version(key.updated_at, now))
            await self.store.save_key(revoked)
            await self.store.audit(now, caller.subject, "api_key.revoke", key_id, {"username": key.username}, ip)
            key = revoked
        self._auth.forget_key(key.key_hash)
        return key

    async def create_user(self, actor: str, username: str, password: str, role: str, tier: str, *,
                          ip: str = "") -> UserRow:
        _check_role_tier(role, tier)
        if await self.store.user(username) is not None:
            raise InvalidRequest(f"user {username!r} already exists", details={"field": "username"})
        now = self._clock.now()
        user = UserRow(username=username, user_id=str(uuid.uuid4()), password_hash=await _hash(password),
                       role=role, tier=tier, disabled=False, created_at=now, updated_at=now)
        await self.store.save_user(user)
        await self.store.audit(now, actor, "user.create", username, {"role": role, "tier": tier}, ip)
        return user

    async def ensure_user(self, actor: str, username: str, password: str, role: str, tier: str | None = None,
                          ) -> tuple[UserRow, str]:
        """Create `username`, or update its password, role (and tier, when given) to these; returns the user
        and what happened: `created`, `updated` or `unchanged` (the bootstrap admin and the CLI use it)."""
        _check_role_tier(role, tier or Tier.AUTHENTICATED.value)
        found = await self.store.user(username)
        if found is None:
            return await self.create_user(actor, username, password, role, tier or Tier.AUTHENTICATED.value), "created"
        same_password = await asyncio.to_thread(verify_password, password, found.password_hash)
        if same_password and found.role == role and (tier is None or found.tier == tier) and not found.disabled:
            return found, "unchanged"
        now = self._clock.now()
        user = UserRow(username=username, user_id=found.user_id,
                       password_hash=found.password_hash if same_password else await _hash(password),
                       role=role, tier=tier or found.tier, disabled=False, created_at=found.created_at,
                       updated_at=next_version(found.updated_at, now))
        await self.store.save_user(user)
        await self.store.audit(now, actor, "user.update", username,
                               {"role": role, "tier": user.tier, "password_changed": not same_password}, "")
        self._auth.forget_all()  # cached keys of this user carry the old role
        return user, "updated"

    async def audit(self, actor: str, action: str, target: str, details: dict[str, Any], ip: str = "") -> None:
        """Append one entry to the audit log, stamped with the clock (for every operator write of the API)."""
        await self.store.audit(self._clock.now(), actor, action, target, details, ip)

    async def user_named(self, username: str) -> UserRow:
        user = await self.store.user(username)
        if user is None:
            raise NotFound(f"no user {username!r}", details={"username": username})
        return user


def _check_role_tier(role: str, tier: str) -> None:
    if role not in ROLE_PERMISSIONS:
        raise InvalidRequest(f"unknown role {role!r}: one of {', '.join(ROLE_PERMISSIONS)}",
                             details={"field": "role"})
    if tier not in USER_TIERS:
        raise InvalidRequest(f"unknown tier {tier!r}: one of {', '.join(sorted(USER_TIERS))}",
                             details={"field": "tier"})


async def _hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
