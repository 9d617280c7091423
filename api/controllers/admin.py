"""GET /api/v1/admin/health: the health probe's report.

All dependencies up and every stream agent well: 200 with the report as `data`. A dependency down, or an
agent dead, failing or stalled: 503 with the error envelope naming each problem, code
INTERNAL_ERROR (MAINTENANCE is kept for a deliberate maintenance mode, which a broken dependency is not),
and the full report in `error.details.report`, so a load balancer sees the status and an operator the cause.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec

from api.controllers import ERROR_RESPONSES
from api.envelope import Envelope, ErrorEnvelope, Meta
from api.errors import Unavailable
from api.health import HealthProbe, HealthReport


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]

    @get(
        "/health",
        summary="Health of Kafka, ClickHouse, the stream agents and the consumer lag",
        responses={**ERROR_RESPONSES, 503: ResponseSpec(ErrorEnvelope, description="a dependency is down or an agent unwell")},
    )
    async def health(self, health_probe: HealthProbe, meta: Meta) -> Envelope[HealthReport]:
        report = await health_probe.check()
        if not report.ok:
            raise Unavailable(
                f"unhealthy: {'; '.join(report.problems())}", details={"report": msgspec.to_builtins(report)}
            )
        return Envelope(data=report, meta=meta)
