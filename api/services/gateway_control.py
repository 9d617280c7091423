"""Start, stop and restart the Stratum gateway of this process, and retune its vardiff target, live.

The composition root (`poolstream.runtime`) binds how to start a gateway and how to stop one (api does not
import sources); `stop` is the gateway's own `close()`: it stops accepting connections and submits, verifies
what is queued, publishes every share event and flushes. `start` builds a fresh gateway on the same ports.
The vardiff target is remembered and applied to every gateway started later (a restart keeps it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from api.errors import InvalidRequest


class Gateway(Protocol):
    @property
    def connection_count(self) -> int: ...

    def set_vardiff_target(self, target_s: float) -> None: ...

    async def close(self) -> None: ...


class GatewayState(msgspec.Struct, frozen=True, kw_only=True):
    state: str  # running | stopped | starting | stopping | not_configured
    connections: int
    since: float  # unix seconds of the last state change
    vardiff_target_s: float | None
    last_error: str | None = None


class GatewayControl:
    """One gateway slot: `bind()` once by the runtime, then `start`/`stop`/`restart` (serialised)."""

    def __init__(self, vardiff_target_s: float | None = None) -> None:
        self.vardiff_target_s = vardiff_target_s
        self._start: Callable[[], Awaitable[Gateway]] | None = None
        self._stopped: Callable[[Gateway], None] | None = None
        self._gateway: Gateway | None = None
        self._state = "not_configured"
        self._since = time.time()
        self._error: str | None = None
        self._lock = asyncio.Lock()

    def bind(self, start: Callable[[], Awaitable[Gateway]],
             stopped: Callable[[Gateway], None] | None = None) -> None:
        """How to start a gateway, and what to tell when one stopped (the runtime's list of running ones)."""
        self._start = start
        self._stopped = stopped
        self._set("stopped")

    async def launch(self) -> None:
        """The runtime's first start: errors propagate as they are (a port taken is a `SettingsError`)."""
        async with self._lock:
            assert self._start is not None, "bind() first"
            self._set("starting")
            try:
                gateway = await self._start()
            except BaseException:
                self._set("stopped")
                raise
            self._started(gateway)

    @property
    def running(self) -> bool:
        return self._gateway is not None

    def status(self) -> GatewayState:
        count = self._gateway.connection_count if self._gateway is not None else 0
        return GatewayState(state=self._state, connections=count, since=self._since,
                            vardiff_target_s=self.vardiff_target_s, last_error=self._error)

    def set_vardiff_target(self, target_s: float) -> None:
        self.vardiff_target_s = target_s
        if self._gateway is not None:
            self._gateway.set_vardiff_target(target_s)

    async def start(self) -> GatewayState:
        async with self._lock:
            await self._start_locked()
        return self.status()

    async def stop(self) -> GatewayState:
        async with self._lock:
            await self._stop_locked()
        return self.status()

    async def restart(self) -> GatewayState:
        async with self._lock:
            await self._stop_locked()
            await self._start_locked()
        return self.status()

    async def _start_locked(self) -> None:
        if self._start is None:
            raise InvalidRequest("no Stratum gateway in this process (API alone, or STRATUM_ENABLED=false): "
                                 "start/stop/restart control the gateway of `poolstream run`")
        if self._gateway is not None:
            return
        self._set("starting")
        try:
            gateway = await self._start()
        except Exception as exc:  # a port taken meanwhile, a job source down: the state says why
            self._error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._set("stopped")
            raise InvalidRequest(f"the Stratum gateway could not start: {self._error}") from exc
        self._started(gateway)

    def _started(self, gateway: Gateway) -> None:
        if self.vardiff_target_s is not None:
            gateway.set_vardiff_target(self.vardiff_target_s)
        self._gateway, self._error = gateway, None
        self._set("running")

    async def _stop_locked(self) -> None:
        if self._start is None:
            raise InvalidRequest("no Stratum gateway in this process (API alone, or STRATUM_ENABLED=false): "
                                 "start/stop/restart control the gateway of `poolstream run`")
        gateway, self._gateway = self._gateway, None
        if gateway is None:
            return
        self._set("stopping")
        try:
            await gateway.close()
        finally:
            if self._stopped is not None:
                self._stopped(gateway)
            self._set("stopped")

    async def shutdown(self) -> None:
        """At the end of the run: stop the gateway if it runs (never raises for a missing one)."""
        async with self._lock:
            if self._gateway is not None:
                await self._stop_locked()

    def _set(self, state: str) -> None:
        self._state, self._since = state, time.time()
