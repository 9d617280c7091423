"""Payouts (seed 004): `GET /payouts` (paged; participant_id, address, coin), `GET /payouts/{id}`,
`POST /payouts` (admin: a manual payout through the never-twice path), `GET /payouts/participant/{id}/summary`,
and `PUT /miners/{address}/threshold` (write) / `GET` (read): the caller's participant's address, or admin."""

from __future__ import annotations

from litestar import Controller, get, post, put

from api.controllers import ERROR_RESPONSES, NOT_FOUND_RESPONSE
from api.controllers.registry import AUTH_RESPONSES
from api.dto.payouts import PayoutCreate, PayoutOut, PayoutSummary, Threshold, ThresholdSet
from api.envelope import Envelope, Meta, Paging
from api.paging import Id
from api.security import Permission, requires
from api.services.payouts import PayoutService
from api.services.registry import Actor

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}


class PayoutsController(Controller):
    path = "/"
    tags = ["payouts"]

    @get("/payouts", summary="Payouts, newest first (yours; all for admin)", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def list_payouts(self, actor: Actor, paging: Paging, payout_service: PayoutService, meta: Meta,
                           participant_id: int | None = None, address: str = "",
                           coin: str = "") -> Envelope[list[PayoutOut]]:
        found, total = await payout_service.page(actor, paging, participant_id=participant_id, address=address,
                                                 code=coin)
        return Envelope(data=found, meta=meta.paged(paging, total))

    @get("/payouts/{payout_id:str}", summary="One payout with its recipients",
         responses={**RESPONSES, **NOT_FOUND_RESPONSE}, guards=[requires(Permission.READ)])
    async def get_payout(self, payout_id: str, actor: Actor, payout_service: PayoutService,
                         meta: Meta) -> Envelope[PayoutOut]:
        return Envelope(data=await payout_service.get(actor, payout_id), meta=meta)

    @post("/payouts", summary="A manual payout of a mature balance (admin; planned, sent, then in the ledger)",
          status_code=201, responses=RESPONSES, guards=[requires(Permission.ADMIN)])
    async def create_payout(self, data: PayoutCreate, payout_service: PayoutService,
                            meta: Meta) -> Envelope[PayoutOut]:
        return Envelope(data=await payout_service.create(data), meta=meta)

    @get("/payouts/participant/{participant_id:int}/summary", summary="A participant's payout totals per coin",
         responses={**RESPONSES, **NOT_FOUND_RESPONSE}, guards=[requires(Permission.READ)])
    async def summary(self, participant_id: Id, actor: Actor, payout_service: PayoutService,
                      meta: Meta) -> Envelope[PayoutSummary]:
        return Envelope(data=await payout_service.summary(actor, participant_id), meta=meta)

    @put("/miners/{address:str}/threshold", summary="Set your payout threshold for a coin (decimal amount)",
         responses={**RESPONSES, **NOT_FOUND_RESPONSE}, guards=[requires(Permission.WRITE)])
    async def threshold(self, address: str, data: ThresholdSet, actor: Actor, payout_service: PayoutService,
                        meta: Meta) -> Envelope[Threshold]:
        return Envelope(data=await payout_service.set_threshold(actor, address, data.coin, data.amount), meta=meta)

    @get("/miners/{address:str}/threshold", summary="Your payout thresholds of an address, one per coin",
         responses={**RESPONSES, **NOT_FOUND_RESPONSE}, guards=[requires(Permission.READ)])
    async def thresholds(self, address: str, actor: Actor, payout_service: PayoutService,
                         meta: Meta) -> Envelope[list[Threshold]]:
        return Envelope(data=await payout_service.thresholds(actor, address), meta=meta)
