"""GET /api/v1/miners/{address}/earnings?days=30: a miner's credited base units per UTC day and coin (public,
like the miner endpoint)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from api.controllers import ERROR_RESPONSES
from api.envelope import Envelope, Meta
from api.services.earnings import MAX_DAYS, DailyEarning, EarningsService
from api.validation import require_address


class EarningsController(Controller):
    path = "/miners/{address:str}/earnings"
    tags = ["ledger"]

    @get("/", summary="A miner's daily earnings per coin (UTC days, base units and decimal strings)",
         responses=ERROR_RESPONSES)
    async def earnings(self, address: str, earnings_service: EarningsService, meta: Meta,
                       days: int = Parameter(default=30, ge=1, le=MAX_DAYS)) -> Envelope[list[DailyEarning]]:
        return Envelope(data=await earnings_service.daily(require_address(address), days), meta=meta)
