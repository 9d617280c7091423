"""GET /api/v1/miners/{address} and /api/v1/miners/{address}/workers."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.dto.miners import MinerStats, MinerWorkers
from api.envelope import Envelope, Meta
from api.services.miners import MinerService


class MinersController(Controller):
    path = "/miners/{address:str}"
    tags = ["miners"]

    @get("/", summary="One miner", responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def miner(self, address: str, miner_service: MinerService, meta: Meta) -> Envelope[MinerStats]:
        return Envelope(data=await miner_service.miner(address), meta=meta)

    @get("/workers", summary="A miner's workers", responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def workers(self, address: str, miner_service: MinerService, meta: Meta) -> Envelope[MinerWorkers]:
        return Envelope(data=await miner_service.workers(address), meta=meta)
