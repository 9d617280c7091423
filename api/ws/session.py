"""One WebSocket connection: its bounded send queue, its inbound rate limit and the dispatch of its messages.

Pushes never wait for a client: the hub `offer`s each one to the connection's queue (at most
`API_WS_SEND_QUEUE`); the connection's own sender task writes them out. A client whose queue is full is too
slow to follow: it is dropped (close 1013 "try again later", with the reason), and nobody else waits for it.
Inbound messages are limited per connection (`API_WS_MESSAGES_PER_MIN`, seed 001: 100/min, a token bucket
of that size refilled over a minute): over the limit a message is answered RATE_LIMITED and ignored; once
the client sent as many messages over the limit as the limit itself, it is closed (1008 policy violation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from api.envelope import ErrorBody, ErrorCode
from api.errors import ApiError
from api.security import Principal
from api.security_events import EVENTS
from api.ws import protocol
from api.ws.protocol import Answer, ProtocolError

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008  # RFC 6455: policy violation (the rate limit)
CLOSE_TRY_LATER = 1013  # RFC 6455: try again later (too slow to follow the pushes)
CLOSE_GOING_AWAY = 1001  # the server stops
#: refused messages counted in the API's security counters (`api.security_events`)
_EVENT_OF = {ErrorCode.INVALID_REQUEST: "malformed", ErrorCode.UNAUTHORIZED: "unauthorized",
             ErrorCode.FORBIDDEN: "forbidden"}


class Socket(Protocol):
    """What a session needs of a WebSocket (Litestar's `WebSocket` has it; tests use a fake)."""

    async def send_text(self, data: str) -> None: ...
    async def receive_frame(self) -> str | bytes | None: ...  # None: the client went away
    async def close(self, code: int, reason: str) -> None: ...


class TokenResolver(Protocol):
    """`api.auth.Authenticator`: a token (API key or JWT) -> its caller; raises `Unauthorized`."""

    async def resolve(self, token: str) -> Principal: ...


class Subscriptions(Protocol):
    """The hub as a session sees it."""

    def subscribe(self, session: Session, channel: str) -> None: ...
    def unsubscribe(self, session: Session, channel: str) -> None: ...
    def leave(self, session: Session) -> None: ...


class RateLimit:
    """A token bucket: `per_minute` messages, refilled evenly over a minute; `clock` in seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._tokens = float(per_minute)
        self._at = clock()
        self.excess = 0  # messages refused since the last one allowed... and not forgiven (see `allow`)

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(float(self.per_minute), self._tokens + (now - self._at) * self.per_minute / 60.0)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self.excess = max(0, self.excess - 1)
            return True
        self.excess += 1
        return False

    @property
    def retry_after_s(self) -> float:
        return round(max(0.0, 1.0 - self._tokens) * 60.0 / self.per_minute, 3)


class Session:
    """A connected client: `run()` until it leaves or is dropped."""

    def __init__(self, socket: Socket, hub: Subscriptions, caller: Principal, *, queue_size: int,
                 messages_per_min: int, authenticator: TokenResolver | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.socket = socket
        self.caller = caller
        self.channels: set[str] = set()
        self.closed: tuple[int, str] | None = None  # (code, reason) once dropped or closed
        self._hub = hub
        self._authenticator = authenticator
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._limit = RateLimit(messages_per_min, clock)
        self._done = asyncio.Event()

    # ---- outbound: never blocks the caller ----------------------------------------------------------------

    def offer(self, message: str) -> bool:
        """Queue `message`; a full queue drops this client (True: queued)."""
        if self.closed is not None:
            return False
        try:
            self._queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            self.drop(CLOSE_TRY_LATER, f"slow consumer: {self._queue.maxsize} messages not read")
            return False

    def drop(self, code: int, reason: str) -> None:
        """Close this client soon (from any task, without waiting for it)."""
        if self.closed is None:
            self.closed = (code, reason)
            self._hub.leave(self)
            self._done.set()

    # ---- the connection's life ---------------------------------------------------------------------------

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name="ws-send")
        receiver = asyncio.create_task(self._receive_loop(), name="ws-receive")
        try:
            await self._done.wait()
        finally:
            self._hub.leave(self)
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.closed is not None and self.closed[0] != 0:
                code, reason = self.closed
                with contextlib.suppress(Exception):  # the peer may be gone; nothing is left to tell it
                    await asyncio.wait_for(self.socket.close(code, reason[:120]), timeout=1.0)

    async def _send_loop(self) -> None:
        try:
            while True:
                await self.socket.send_text(await self._queue.get())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away mid-send: end the session, nothing to retry
            log.debug("websocket send failed: %s", exc)
            self._leave()

    async def _receive_loop(self) -> None:
        try:
            while self.closed is None:
                frame = await self.socket.receive_frame()
                if frame is None:
                    break
                await self.handle(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken transport, not a bad message (those are answered in `handle`)
            log.debug("websocket receive failed: %s", exc)
        self._leave()

    def _leave(self) -> None:
        if self.closed is None:
            self.closed = (0, "client left")  # code 0: nothing to send
        self._hub.leave(self)
        self._done.set()

    # ---- inbound -------------------------------------------------------------------------------------------

    async def handle(self, frame: str | bytes) -> None:
        """Answer one inbound frame. Never raises for anything the client sent."""
        if not self._limit.allow():
            EVENTS.record("rate_limited")
            if self._limit.excess >= self._limit.per_minute:
                self.drop(CLOSE_POLICY, f"rate limit exceeded ({self._limit.per_minute} messages/min)")
                return
            self.offer(protocol.error(ErrorBody(
                code=ErrorCode.RATE_LIMITED, message=f"over {self._limit.per_minute} messages per minute",
                details={"retry_after_s": self._limit.retry_after_s})))
            return
        try:
            message = protocol.parse(frame)
            handler = self._HANDLERS.get(message.type)
            if handler is None:
                raise ProtocolError(ErrorCode.INVALID_REQUEST, f"unknown message type {message.type[:50]!r}",
                                    types=sorted(self._HANDLERS))
            await handler(self, message)
        except ProtocolError as exc:
            kind = _EVENT_OF.get(exc.body.code)
            if kind is not None:
                EVENTS.record(kind)
            self.offer(protocol.error(exc.body))

    async def _auth(self, message: protocol.ClientMessage) -> None:
        if not message.token:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, "auth needs a `token` (API key or JWT)")
        if self._authenticator is None:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "authentication is not available on this server")
        try:
            self.caller = await self._authenticator.resolve(message.token)
        except ApiError as exc:  # UNAUTHORIZED (unknown, expired, revoked), or a store that is down
            raise ProtocolError(exc.code, exc.message) from None
        except Exception as exc:  # the account store failed: answered, logged, the connection stays
            log.warning("websocket auth failed: %s: %s", type(exc).__name__, str(exc)[:300])
            raise ProtocolError(ErrorCode.INTERNAL_ERROR, "authentication failed; the server log has the details") from None
        self.offer(protocol.encode(Answer(type="auth", data={
            "authenticated": True, "subject": self.caller.subject, "tier": str(self.caller.tier),
            "permissions": sorted(str(p) for p in self.caller.permissions)})))

    def _channels_of(self, message: protocol.ClientMessage) -> list[str]:
        if not message.channels:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, f"{message.type} needs a non-empty `channels` list",
                                channels=list(protocol.CHANNELS))
        return [protocol.channel_of(name) for name in message.channels]

    async def _subscribe(self, message: protocol.ClientMessage) -> None:
        channels = self._channels_of(message)  # all valid, or none subscribed
        for channel in channels:
            protocol.check_access(channel, self.caller)
        if len(self.channels | set(channels)) > protocol.MAX_CHANNELS:
            raise ProtocolError(ErrorCode.INVALID_REQUEST, f"at most {protocol.MAX_CHANNELS} channels")
        self.offer(protocol.encode(Answer(type="subscribed", channels=sorted(self.channels | set(channels)))))
        for channel in channels:
            if channel not in self.channels:
                self.channels.add(channel)
                self._hub.subscribe(self, channel)

    async def _unsubscribe(self, message: protocol.ClientMessage) -> None:
        for channel in self._channels_of(message):
            if channel in self.channels:
                self.channels.discard(channel)
                self._hub.unsubscribe(self, channel)
        self.offer(protocol.encode(Answer(type="unsubscribed", channels=sorted(self.channels))))

    async def _ping(self, _: protocol.ClientMessage) -> None:
        self.offer(protocol.encode(Answer(type="pong")))

    _HANDLERS: dict[str, Callable[[Session, protocol.ClientMessage], Awaitable[None]]] = {
        "auth": _auth, "subscribe": _subscribe, "unsubscribe": _unsubscribe, "ping": _ping,
    }
