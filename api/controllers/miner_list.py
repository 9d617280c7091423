"""GET /api/v1/miners (admin): the miners active in the last 24 h, busiest first, from the pool snapshot (no
query); the operator page's miners table."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.miners import ActiveMiner
from api.envelope import Envelope, Meta, Paging
from api.security import Permission, requires
from api.services.miners import MinerService


class MinerListController(Controller):
    path = "/miners"
    tags = ["miners"]
    guards = [requires(Permission.ADMIN)]

    @get("/", summary="Miners active in the last 24 h, by 10-minute hashrate (admin; paged)",
         responses={**ERROR_RESPONSES, **AUTH_RESPONSES})
    async def miners(self, miner_service: MinerService, meta: Meta, paging: Paging) -> Envelope[list[ActiveMiner]]:
        found = miner_service.active()
        return Envelope(data=found[paging.offset : paging.offset + paging.limit], meta=meta.paged(paging, len(found)))
