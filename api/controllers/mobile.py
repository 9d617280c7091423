"""Mobile API (seed 000/001), READ: `POST /api/v1/mobile/register` (a device token for a miner address),
`PUT /api/v1/mobile/notifications` (what the caller's devices get pushed) and `GET /api/v1/mobile/notifications`
(the caller's devices with their preferences). Pushes go through PUSH_GATEWAY_URL (`jobs.alert_notify`)."""

from __future__ import annotations

from litestar import Controller, get, post, put

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.dto.alerts import MobileDevice, MobileRegister, NotificationPreferencesUpdate
from api.envelope import Envelope, Meta
from api.security import Permission, requires
from api.services.mobile import MobileService
from api.services.registry import Actor

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}
READ = [requires(Permission.READ)]


class MobileController(Controller):
    path = "/mobile"
    tags = ["mobile"]

    @post("/register", summary="Register a device for push notifications", responses=RESPONSES, guards=READ)
    async def register(self, data: MobileRegister, actor: Actor, mobile_service: MobileService,
                       meta: Meta) -> Envelope[MobileDevice]:
        return Envelope(data=await mobile_service.register(actor, data), meta=meta)

    @put("/notifications", summary="Set what your devices get pushed", responses=RESPONSES, guards=READ)
    async def preferences(self, data: NotificationPreferencesUpdate, actor: Actor, mobile_service: MobileService,
                          meta: Meta) -> Envelope[list[MobileDevice]]:
        return Envelope(data=await mobile_service.set_preferences(actor, data), meta=meta)

    @get("/notifications", summary="Your registered devices and their preferences", responses=RESPONSES,
         guards=READ)
    async def devices(self, actor: Actor, mobile_service: MobileService, meta: Meta) -> Envelope[list[MobileDevice]]:
        return Envelope(data=await mobile_service.devices(actor), meta=meta)
