"""Authentication endpoints (seed 001 "Authentication"): API keys for a username/password, JWTs, the
caller's keys and their revocation. Failed logins are counted as failed authentications."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.openapi.datastructures import ResponseSpec

from api.auth.accounts import AccountService
from api.auth.authenticator import Authenticator
from api.auth.store import KeyRow, UserRow
from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.dto.auth import ApiKeyIssued, Credentials, KeyInfo, Revoked, TokenIssued
from api.envelope import Envelope, ErrorEnvelope, Meta
from api.errors import Unauthorized
from api.security import Permission, Principal, requires
from api.security_events import EVENTS

UNAUTHORIZED: dict[int, ResponseSpec] = {
    401: ResponseSpec(ErrorEnvelope, description="UNAUTHORIZED: wrong or missing credentials"),
}


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def key_info(key: KeyRow, meta: Meta) -> KeyInfo:
    return KeyInfo(key_id=key.key_id, username=key.username, permissions=list(key.permissions), tier=key.tier,
                   created_at=key.created_at, expires_at=key.expires_at, revoked=key.revoked,
                   active=not key.revoked and key.expires_at > meta.timestamp)


async def _login(authenticator: Authenticator, data: Credentials) -> UserRow:
    try:
        return await authenticator.login(data.username, data.password)
    except Unauthorized:
        EVENTS.record("unauthorized")
        raise


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/api-key", status_code=200, summary="Get an API key for a username and password",
          responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def api_key(self, data: Credentials, request: Request[Any, Any, Any], authenticator: Authenticator,
                      accounts: AccountService, meta: Meta) -> Envelope[ApiKeyIssued]:
        user = await _login(authenticator, data)
        key, row = await accounts.issue_key(user, actor=user.username, ip=client_ip(request))
        return Envelope(data=ApiKeyIssued(api_key=key, expires_at=row.expires_at, permissions=list(row.permissions),
                                          key_id=row.key_id, tier=row.tier, username=row.username), meta=meta)

    @post("/token", status_code=200, summary="Get a JWT (HS256) for a username and password",
          description="Only when the server has API_JWT_SECRET; otherwise INVALID_REQUEST saying so.",
          responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def token(self, data: Credentials, authenticator: Authenticator, accounts: AccountService,
                    meta: Meta) -> Envelope[TokenIssued]:
        user = await _login(authenticator, data)
        token, expires, principal = accounts.issue_token(user)
        return Envelope(data=TokenIssued(token=token, token_type="Bearer", expires_at=expires,
                                         permissions=sorted(str(p) for p in principal.permissions),
                                         tier=str(principal.tier)), meta=meta)

    @get("/keys", summary="The caller's API keys (never their secrets)", guards=[requires(Permission.READ)],
         responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def keys(self, caller: Principal, accounts: AccountService, meta: Meta) -> Envelope[list[KeyInfo]]:
        return Envelope(data=[key_info(k, meta) for k in await accounts.keys_of(caller.subject)], meta=meta)

    @delete("/keys/{key_id:str}", status_code=200, summary="Revoke an API key (your own; any with admin)",
            guards=[requires(Permission.READ)],
            responses={**ERROR_RESPONSES, **UNAUTHORIZED, **NOT_FOUND_RESPONSE})
    async def revoke(self, key_id: str, caller: Principal, request: Request[Any, Any, Any],
                     accounts: AccountService, meta: Meta) -> Envelope[Revoked]:
        key = await accounts.revoke(caller, key_id, ip=client_ip(request))
        return Envelope(data=Revoked(key_id=key.key_id, revoked=key.revoked), meta=meta)
