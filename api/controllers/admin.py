"""/api/v1/admin: health (open to load balancers), live config, backups and analysts' SQL (admin only).

GET /admin/health answers the seed 001 shape {status, components, metrics} plus the probe's detailed report.
`healthy` and `degraded` (it works, something needs attention: a broker warning, the gateway stopped, a
federation peer with a poor share ratio) answer 200. `unhealthy` (Kafka or ClickHouse down, an agent dead,
failing or stalled) answers 503, so a load balancer takes the node out, with the same `data` beside the
error envelope's `error` {code INTERNAL_ERROR, message naming each problem, details.report}: MAINTENANCE is
kept for a deliberate maintenance mode, which a broken dependency is not.
"""

from __future__ import annotations

from typing import Any, cast

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec

from api.admin_wiring import AdminServices
from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.envelope import Envelope, ErrorBody, ErrorCode, Meta
from api.errors import NotFound
from api.health import AdminHealth, HealthProbe
from api.security import Permission, Principal, requires
from api.services.backup import BackupInfo, BackupRequest, BackupStatus
from api.services.live_config import ConfigChange, ConfigUpdate, LiveConfigView
from api.services.query import QueryRequest, QueryResult

ADMIN = [requires(Permission.ADMIN)]


class HealthFailure(msgspec.Struct, frozen=True, kw_only=True):
    """The 503 answer: the error envelope with the same `data` a 200 carries."""

    success: bool = False
    error: ErrorBody
    data: AdminHealth
    meta: Meta


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]

    @get("/health", summary="Health: status, components, host metrics and the detailed report (no key needed)",
         responses={**ERROR_RESPONSES,
                    503: ResponseSpec(HealthFailure, description="unhealthy: a dependency down or an agent unwell")})
    async def health(self, health_probe: HealthProbe, admin_services: AdminServices,
                     meta: Meta) -> Response[Envelope[AdminHealth]]:
        report = await health_probe.check()
        data = await admin_services.health(report)
        if report.ok:
            return Response(Envelope(data=data, meta=meta))
        error = ErrorBody(code=ErrorCode.INTERNAL_ERROR, message=f"unhealthy: {'; '.join(report.problems())}",
                          details={"report": msgspec.to_builtins(report)})
        # the 503 body is documented above (HealthFailure); the annotation names the 200 one for the schema
        return cast("Response[Envelope[AdminHealth]]",
                    Response(HealthFailure(error=error, data=data, meta=meta), status_code=503))

    @get("/config", guards=ADMIN, summary="The live configuration (admin)", responses=ERROR_RESPONSES)
    async def config(self, admin_services: AdminServices, meta: Meta) -> Envelope[LiveConfigView]:
        return Envelope(data=admin_services.config.current(), meta=meta)

    @put("/config", guards=ADMIN, summary="Change settings live: validated, audited, persisted (admin)",
         responses=ERROR_RESPONSES)
    async def update_config(self, data: ConfigUpdate, admin_services: AdminServices, caller: Principal,
                            request: Request[Any, Any, Any], meta: Meta) -> Envelope[ConfigChange]:
        change = await admin_services.config.update(data, caller.subject, client_ip(request))
        return Envelope(data=change, meta=meta)

    @post("/backup", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="BACKUP the database to the local backup directory or an S3-compatible URL (admin)")
    async def backup(self, data: BackupRequest, admin_services: AdminServices, caller: Principal,
                     request: Request[Any, Any, Any], meta: Meta) -> Envelope[BackupInfo]:
        info = await admin_services.backups.backup(data, caller.subject, client_ip(request))
        return Envelope(data=info, meta=meta)

    @get("/backup/{backup_id:str}", guards=ADMIN, summary="A backup started by this process (admin)",
         responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def backup_status(self, backup_id: str, admin_services: AdminServices,
                            meta: Meta) -> Envelope[BackupStatus]:
        found = await admin_services.backups.status(backup_id)
        if found is None:
            raise NotFound(f"no backup {backup_id!r} in this process (the list lives in its memory)")
        return Envelope(data=found, meta=meta)

    @post("/query", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="Run one read-only SQL statement (readonly=1, row and time limits; admin, audited)")
    async def query(self, data: QueryRequest, admin_services: AdminServices, caller: Principal,
                    request: Request[Any, Any, Any], meta: Meta) -> Envelope[QueryResult]:
        result = await admin_services.query.run(data, caller.subject, client_ip(request))
        return Envelope(data=result, meta=meta)
