"""GET /api/v1/federation/status and /api/v1/federation/peers (seed 000/001 "Federation API"); public."""

from __future__ import annotations

from litestar import Controller, get

from api.controllers import ERROR_RESPONSES
from api.dto.federation import FederationStatus, Peer
from api.envelope import Envelope, Meta
from api.services.federation import FederationService


class FederationController(Controller):
    path = "/federation"
    tags = ["federation"]

    @get("/status", summary="Federation status: this node, its peers' hashrate and reputation",
         responses=ERROR_RESPONSES)
    async def status(self, federation_service: FederationService, meta: Meta) -> Envelope[FederationStatus]:
        return Envelope(data=await federation_service.status(), meta=meta)

    @get("/peers", summary="Peers (Stratum gateways) seen in the last 10 minutes", responses=ERROR_RESPONSES)
    async def peers(self, federation_service: FederationService, meta: Meta) -> Envelope[list[Peer]]:
        return Envelope(data=await federation_service.peers(), meta=meta)
