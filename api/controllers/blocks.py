"""GET /api/v1/blocks: the blocks the pool found, newest first (seed 001 "Get Recent Blocks"), filtered by
currency and current status, paged, with each block's confirmations and effort."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.dto.blocks import BlockInfo
from api.envelope import Envelope, Meta, Paging
from api.services.blocks import BlockService


class BlocksController(Controller):
    path = "/blocks"
    tags = ["pool"]

    @get("/", summary="Recent blocks", responses=ERROR_RESPONSES)
    async def blocks(
        self,
        block_service: BlockService,
        meta: Meta,
        paging: Paging,
        currency: Annotated[str | None, Parameter(description="coin, e.g. BTC", max_length=16)] = None,
        status: Annotated[str | None, Parameter(description="found (= pending), confirmed or orphaned",
                                                max_length=16)] = None,
    ) -> Envelope[list[BlockInfo]]:
        items, total = await block_service.page(currency=currency, status=status, paging=paging)
        return Envelope(data=items, meta=meta.paged(paging, total))
