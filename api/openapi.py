"""The OpenAPI document: title, version, the security schemes, and each operation's security.

An operation guarded by `api.security.requires(...)` lists `BearerAuth` (an API key or a JWT; `BasicAuth`
too when development Basic auth is on) and names the permission in its description; a public operation
says `security: [{}, {BearerAuth: []}]` (a key is optional: it only raises the caller's rate-limit tier).
The marks are set at startup, before the document is first generated.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api.envelope import API_VERSION

BEARER = "BearerAuth"
SCHEMES = {
    BEARER: SecurityScheme(
        type="http", scheme="bearer",
        description="An API key (`ps_live_...`, from POST /api/v1/auth/api-key) or a JWT (HS256)",
    ),
    "BasicAuth": SecurityScheme(type="http", scheme="basic", description="development only (API_ALLOW_BASIC_AUTH)"),
}


def openapi_config(server_version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="poolstream API",
        version=API_VERSION,
        description=f"poolstream {server_version}: the pool REST API of seed 001 (envelope, error codes, tiers).",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin()],
        components=Components(security_schemes=dict(SCHEMES)),
    )


def mark_security(app: Litestar) -> None:
    """Set each HTTP operation's `security` from its guards (startup hook)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if str(getattr(route, "path", "")).startswith("/schema"):
                continue
            guards = [getattr(getattr(g, "func", g), "__name__", "") for g in handler.resolve_guards()]
            needed = [g.removeprefix("requires_") for g in guards if g.startswith("requires_")]
            if needed:
                handler.security = [{BEARER: []}]
                if handler.description is None:
                    handler.description = f"Needs the `{'`, `'.join(needed)}` permission."
            elif handler.security is None:
                handler.security = [{}, {BEARER: []}]
