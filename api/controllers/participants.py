"""Participants (seed 004): `GET/POST /participants`, `GET /participants/{id}`,
`GET /participants/wallet/{address}`. Reads need `read`, creating needs `write`; a caller sees its own."""

from __future__ import annotations

from litestar import Controller, get, post

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.registry import Participant, ParticipantCreate
from api.envelope import Envelope, Meta, Paging
from api.paging import Id
from api.security import Permission, requires
from api.services.participants import ParticipantService
from api.services.registry import Actor

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}


class ParticipantsController(Controller):
    path = "/participants"
    tags = ["participants"]

    @get("/", summary="List your participants (all for admin)", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def list_participants(self, actor: Actor, paging: Paging, participant_service: ParticipantService,
                                meta: Meta) -> Envelope[list[Participant]]:
        found, total = await participant_service.page(actor, paging)
        return Envelope(data=found, meta=meta.paged(paging, total))

    @post("/", summary="Create a participant (a payout address)", responses=RESPONSES,
          guards=[requires(Permission.WRITE)])
    async def create(self, data: ParticipantCreate, actor: Actor, participant_service: ParticipantService,
                     meta: Meta) -> Envelope[Participant]:
        return Envelope(data=await participant_service.create(actor, data), meta=meta)

    @get("/{participant_id:int}", summary="One participant with its totals", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def get_one(self, participant_id: Id, actor: Actor, participant_service: ParticipantService,
                      meta: Meta) -> Envelope[Participant]:
        return Envelope(data=await participant_service.get(actor, participant_id), meta=meta)

    @get("/wallet/{address:str}", summary="The participant of a wallet address", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def by_wallet(self, address: str, actor: Actor, participant_service: ParticipantService,
                        meta: Meta) -> Envelope[Participant]:
        return Envelope(data=await participant_service.by_wallet(actor, address), meta=meta)
