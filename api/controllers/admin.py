"""GET /api/v1/admin/health: the health probe's report.

All dependencies up: 200 with the report as `data`. One down: 503 with the error envelope, code
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
        summary="Health of Kafka, ClickHouse and the consumer lag",
        responses={**ERROR_RESPONSES, 503: ResponseSpec(ErrorEnvelope, description="a dependency is down")},
    )
    async def health(self, health_probe: HealthProbe, meta: Meta) -> Envelope[HealthReport]:
        report = await health_probe.check()
        if not report.ok:
            down = [
                name
                for name, part in (("kafka", report.kafka), ("clickhouse", report.clickhouse))
                if not part.ok
            ]
            raise Unavailable(
                f"unhealthy: {', '.join(down)} down", details={"report": msgspec.to_builtins(report)}
            )
        return Envelope(data=report, meta=meta)
