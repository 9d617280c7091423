"""ASGI authentication: every HTTP and WebSocket request gets its caller in `scope["principal"]`.

No `Authorization` header: `ANONYMOUS`. A header that does not authenticate (unknown, malformed, expired or
revoked key, bad JWT, Basic while it is off) is refused with UNAUTHORIZED (401) even on a public route, and
counted. The refusal is sent by `RefusalMiddleware`, placed after the rate limiter, so a refused request
still counts against its IP's anonymous limit and carries the rate-limit headers like any other answer.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.auth.authenticator import Authenticator
from api.envelope import ErrorEnvelope
from api.errors import ApiError, Unauthorized, error_for
from api.security import ANONYMOUS, SCOPE_KEY
from api.security_events import EVENTS

REFUSAL_KEY = "auth_refusal"  # scope key: the Unauthorized to answer with
_ENCODER = msgspec.json.Encoder()


def authorization_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


async def send_error(scope: Scope, send: Send, exc: ApiError, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with the error envelope from a middleware (a WebSocket upgrade is closed with code 1008)."""
    status, body = error_for(exc)
    if scope["type"] == ScopeType.WEBSOCKET:
        await send({"type": "websocket.close", "code": 1008, "reason": f"{body.code}: {body.message}"[:120]})
        return
    payload = _ENCODER.encode(ErrorEnvelope(error=body))
    start: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start + (headers or [])})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class AuthMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        header = authorization_of(scope)
        if not header:
            scope[SCOPE_KEY] = ANONYMOUS  # type: ignore[literal-required]
        else:
            try:
                scope[SCOPE_KEY] = await self._authenticator.resolve_header(header)  # type: ignore[literal-required]
            except Unauthorized as exc:
                EVENTS.record("unauthorized")
                scope[SCOPE_KEY] = ANONYMOUS  # type: ignore[literal-required]
                scope[REFUSAL_KEY] = exc  # type: ignore[literal-required]
        await next_app(scope, receive, send)


class RefusalMiddleware(ASGIMiddleware):
    """Sends the UNAUTHORIZED `AuthMiddleware` decided on (after the rate limiter saw the request)."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        refusal = scope.get(REFUSAL_KEY)
        if isinstance(refusal, Unauthorized):
            await send_error(scope, send, refusal)
            return
        await next_app(scope, receive, send)
