"""The ledger's routes: GET /api/v1/blocks/{hash} with its credit list (public, like /blocks), GET
/api/v1/miners/{address}/balances (pending, mature, paid per coin) and POST /api/v1/admin/adjustments (admin,
audited)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.envelope import Envelope, Meta
from api.security import Permission, Principal, requires
from api.services.balances import Adjustment, AdjustmentRequest, Balance, BalanceService, BlockCredits
from api.validation import require_address


class LedgerController(Controller):
    path = "/"
    tags = ["ledger"]

    @get("/blocks/{block_hash:str}", summary="One block with its ledger rows (credits, fee, remainder, reversals)",
         responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE})
    async def block(self, block_hash: str, balance_service: BalanceService, meta: Meta) -> Envelope[BlockCredits]:
        return Envelope(data=await balance_service.block(block_hash.lower()), meta=meta)

    @get("/miners/{address:str}/balances", summary="A miner's balances per coin: pending, mature, paid (base units)",
         responses=ERROR_RESPONSES)
    async def balances(self, address: str, balance_service: BalanceService, meta: Meta) -> Envelope[list[Balance]]:
        return Envelope(data=await balance_service.balances(require_address(address)), meta=meta)

    @post("/admin/adjustments", guards=[requires(Permission.ADMIN)], status_code=201, responses=ERROR_RESPONSES,
          summary="Credit or debit a miner's balance by hand (signed decimal amount; admin, audited)")
    async def adjust(self, data: AdjustmentRequest, balance_service: BalanceService, caller: Principal,
                     request: Request[Any, Any, Any], meta: Meta) -> Envelope[Adjustment]:
        ip = request.client.host if request.client else ""
        return Envelope(data=await balance_service.adjust(data, caller.subject, ip), meta=meta)
