"""GET /api/v1/miners/{address}, its /workers (paged), its /payments (paged, from the payouts) and its /blocks
(paged: the blocks it found or had a credit in)."""

from __future__ import annotations

from litestar import Controller, Response, get

from api.answers import json_answer
from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.dto.blocks import MinerBlock
from api.dto.miners import MinerStats, Payment, WorkerStats
from api.envelope import Envelope, Meta, Paging
from api.services.blocks import BlockService
from api.services.miners import MinerService
from api.services.payouts import PayoutService
from api.validation import require_address


class MinersController(Controller):
    path = "/miners/{address:str}"
    tags = ["miners"]

    @get("/", summary="One miner", responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def miner(self, address: str, miner_service: MinerService) -> Response[Envelope[MinerStats]]:
        return json_answer(await miner_service.miner_answer(address))

    @get("/workers", summary="A miner's workers (paged)", responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def workers(
        self, address: str, miner_service: MinerService, meta: Meta, paging: Paging
    ) -> Envelope[list[WorkerStats]]:
        workers = await miner_service.workers(address)
        page = workers[paging.offset : paging.offset + paging.limit]
        return Envelope(data=page, meta=meta.paged(paging, len(workers)))

    @get("/payments", summary="A miner's payments (paged, newest first)", responses=ERROR_RESPONSES)
    async def payments(self, address: str, meta: Meta, paging: Paging,
                       payout_service: PayoutService) -> Envelope[list[Payment]]:
        found, total = await payout_service.payments(require_address(address), paging)
        return Envelope(data=found, meta=meta.paged(paging, total))

    @get("/blocks", summary="Blocks the miner found or had a credit in (its PPLNS share), newest first (paged)",
         responses=ERROR_RESPONSES)
    async def blocks(self, address: str, meta: Meta, paging: Paging,
                     block_service: BlockService) -> Envelope[list[MinerBlock]]:
        found, total = await block_service.shared_in(address, paging)
        return Envelope(data=found, meta=meta.paged(paging, total))
