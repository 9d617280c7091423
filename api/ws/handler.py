"""The route `/api/ws` (outside `/api/v1`, as seed 001 shows it) and its wiring: `live_routes(...)` gives the
Litestar handler plus the hub's start/stop hooks for the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import WebSocket, websocket
from litestar.handlers import WebsocketRouteHandler

from api.security import principal_of
from api.ws.hub import Hub
from api.ws.session import Session, TokenResolver

PATH = "/api/ws"


class _Socket:
    """Litestar's WebSocket as a `session.Socket`."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._socket = socket

    async def send_text(self, data: str) -> None:
        await self._socket.send_text(data)

    async def receive_frame(self) -> str | bytes | None:
        event = await self._socket.receive()
        if event["type"] != "websocket.receive":
            return None
        text = event.get("text")
        return text if text is not None else (event.get("bytes") or b"")

    async def close(self, code: int, reason: str) -> None:
        await self._socket.close(code=code, reason=reason)


@dataclass(frozen=True)
class LiveConfig:
    hub: Hub
    queue_size: int = 256  # ApiSettings.ws_send_queue
    messages_per_min: int = 100  # ApiSettings.ws_messages_per_min
    authenticator: TokenResolver | None = None  # api.auth.Authenticator


def live_handler(config: LiveConfig) -> WebsocketRouteHandler:
    """The `/api/ws` handler: one `Session` per connection, its caller the one the auth middleware saw on
    the handshake (`Authorization: Bearer`) until an `auth` message says otherwise."""

    @websocket(PATH, name="live")
    async def live(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        session = Session(_Socket(socket), config.hub, principal_of(socket), queue_size=config.queue_size,
                          messages_per_min=config.messages_per_min, authenticator=config.authenticator)
        await session.run()

    return live
