"""GET /api/v1/blocks: the blocks the pool found, newest first (seed 001 "Get Recent Blocks")."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.dto.blocks import BlockInfo
from api.envelope import Envelope, Meta
from api.services.blocks import BlockService


class BlocksController(Controller):
    path = "/blocks"
    tags = ["pool"]

    @get("/", summary="Recent blocks", responses=ERROR_RESPONSES)
    async def blocks(
        self,
        block_service: BlockService,
        meta: Meta,
        currency: Annotated[str | None, Parameter(description="coin, e.g. BTC", max_length=16)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100, description="blocks, at most 100")] = 50,
    ) -> Envelope[list[BlockInfo]]:
        return Envelope(data=await block_service.recent(currency=currency, limit=limit), meta=meta)
