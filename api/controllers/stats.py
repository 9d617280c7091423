"""GET /api/v1/stats: the pool's figures of seed 001 (hashrate, miners, workers, blocks, federation, hardware)
and its per-window detail, from the snapshot (no ClickHouse read on the request path)."""

from __future__ import annotations

from litestar import Controller, Response, get

from api.answers import json_answer
from api.controllers import ERROR_RESPONSES
from api.dto.pool import PoolStats
from api.envelope import Envelope
from api.services.pool import PoolService


class StatsController(Controller):
    path = "/stats"
    tags = ["pool"]

    @get("/", summary="Pool statistics", responses=ERROR_RESPONSES)
    async def stats(self, pool_service: PoolService) -> Response[Envelope[PoolStats]]:
        # one dependency and pre-encoded bytes: the hottest read of the API (see api/answers.py)
        return json_answer(await pool_service.stats_answer())
