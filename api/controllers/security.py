"""GET /api/v1/security/audit and /security/threats (admin): seed 001 "Security", from real counters."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES
from api.controllers.auth import UNAUTHORIZED
from api.dto.auth import SecurityAudit, SecurityThreats
from api.envelope import Envelope, Meta
from api.security import Permission, requires
from api.services.security import SecurityService


class SecurityController(Controller):
    path = "/security"
    tags = ["security"]
    guards = [requires(Permission.ADMIN)]

    @get("/audit", summary="Security posture and the last audit-log entry (admin)",
         responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def audit(self, security_service: SecurityService, meta: Meta) -> Envelope[SecurityAudit]:
        return Envelope(data=await security_service.audit(), meta=meta)

    @get("/threats", summary="Refused requests since start and the Stratum gateway's banned IPs (admin)",
         responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def threats(self, security_service: SecurityService, meta: Meta) -> Envelope[SecurityThreats]:
        return Envelope(data=security_service.threats(), meta=meta)
