"""GET /api/v1/monitoring/hardware: workers, hashrate, temperature and power per hardware class (seed 001),
from the snapshot."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES
from api.dto.blocks import HardwareReport
from api.envelope import Envelope, Meta
from api.services.pool import PoolService


class HardwareController(Controller):
    path = "/monitoring"
    tags = ["monitoring"]

    @get("/hardware", summary="Hardware statistics per class", responses=ERROR_RESPONSES)
    async def hardware(self, pool_service: PoolService, meta: Meta) -> Envelope[HardwareReport]:
        return Envelope(data=await pool_service.hardware(), meta=meta)
