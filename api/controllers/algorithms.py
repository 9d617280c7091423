"""GET /api/v1/algorithms: the known algorithms, their hashrate factor and the pool's current hashrate."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES
from api.dto.pool import AlgorithmCatalog
from api.envelope import Envelope, Meta
from api.services.pool import PoolService


class AlgorithmsController(Controller):
    path = "/algorithms"
    tags = ["pool"]

    @get("/", summary="Known algorithms", responses=ERROR_RESPONSES)
    async def algorithms(self, pool_service: PoolService, meta: Meta) -> Envelope[AlgorithmCatalog]:
        return Envelope(data=await pool_service.algorithms(), meta=meta)
