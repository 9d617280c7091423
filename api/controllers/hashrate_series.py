"""GET /api/v1/miners/{address}/hashrate?range=10m|1h|24h|30d: a miner's hashrate series (public, like the
miner endpoint); what the web dashboard's chart draws."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.envelope import Envelope, Meta
from api.services.hashrate_series import HashrateSeries, HashrateSeriesService
from api.validation import require_address


class HashrateSeriesController(Controller):
    path = "/miners/{address:str}/hashrate"
    tags = ["miners"]

    @get("/", summary="A miner's hashrate over 10 min / 1 h / 24 h / 30 d, from the share rollups",
         responses=ERROR_RESPONSES)
    async def hashrate(self, address: str, hashrate_series_service: HashrateSeriesService, meta: Meta,
                       range_: Literal["10m", "1h", "24h", "30d"] = Parameter(query="range", default="1h"),
                       ) -> Envelope[HashrateSeries]:
        series = await hashrate_series_service.series(require_address(address), range_)
        return Envelope(data=series, meta=meta)
