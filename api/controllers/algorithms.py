"""GET /api/v1/algorithms: the algorithms the pool serves (its Stratum ports), seed 001 shape, from the snapshot."""

from __future__ import annotations

from litestar import Controller, Response, get

from api.answers import json_answer
from api.controllers import ERROR_RESPONSES
from api.dto.pool import AlgorithmInfo
from api.envelope import Envelope
from api.services.pool import PoolService


class AlgorithmsController(Controller):
    path = "/algorithms"
    tags = ["pool"]

    @get("/", summary="Algorithms the pool serves", responses=ERROR_RESPONSES)
    async def algorithms(self, pool_service: PoolService) -> Response[Envelope[list[AlgorithmInfo]]]:
        return json_answer(await pool_service.algorithms_answer())
