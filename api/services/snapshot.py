"""A value recomputed in the background every few seconds, so that reads never wait for ClickHouse.

The pool-wide figures (/stats, /algorithms, /monitoring/hardware and every active miner's /miners/{address})
are one `Snapshot[PoolView]` refreshed every `API_SNAPSHOT_INTERVAL_S` (default 2 s) by a task that starts
and stops with the app (`lifespan`). The interface, for readers such as the WebSocket pushes:

- `latest()` -> the newest value, or None before the first refresh succeeded (never blocks);
- `await current()` -> the newest value, computing it first if there is none yet (raises what the
  computation raised: a request before the first refresh then fails the way a direct read would);
- `subscribe()` -> an `asyncio.Queue` that receives each new value (maxsize 1: a slow reader skips to the
  newest value, it never holds the refresher up); `unsubscribe(queue)` when done;
- `add_listener(callback)` -> `callback(value)` is called after each refresh, on the event loop (it must not
  block; an exception in it is logged and the others still run).

A failing refresh is logged (one line, with the reason) and retried at the next interval; the previous value
stays served, with its own `updated_at` telling its age.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from schemas.config import first_line

T = TypeVar("T")
log = logging.getLogger(__name__)


class Snapshot(Generic[T]):
    def __init__(self, compute: Callable[[], Awaitable[T]], interval_s: float) -> None:
        self._compute = compute
        self.interval_s = interval_s
        self._value: T | None = None
        self._inflight: asyncio.Task[T] | None = None
        self._queues: set[asyncio.Queue[T]] = set()
        self._listeners: list[Callable[[T], None]] = []
        self.refreshes = 0
        self.failures = 0

    def latest(self) -> T | None:
        return self._value

    async def current(self) -> T:
        value = self._value
        return value if value is not None else await self.refresh()

    def subscribe(self) -> asyncio.Queue[T]:
        queue: asyncio.Queue[T] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[T]) -> None:
        self._queues.discard(queue)

    def add_listener(self, callback: Callable[[T], None]) -> None:
        self._listeners.append(callback)

    async def refresh(self) -> T:
        """Compute a new value now (joining a computation already under way) and publish it."""
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._compute())
            self._inflight.add_done_callback(self._published)
        return await asyncio.shield(self._inflight)

    def _published(self, task: asyncio.Task[T]) -> None:
        self._inflight = None
        if task.cancelled() or task.exception() is not None:
            self.failures += 1
            return
        value = task.result()
        self._value = value
        self.refreshes += 1
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # the reader is behind: it gets the newest value, not the backlog
            queue.put_nowait(value)
        for callback in list(self._listeners):
            try:
                callback(value)
            except Exception:  # one broken listener must not stop the others or the refresher
                log.exception("snapshot listener %r failed", callback)

    async def run(self) -> None:
        """Refresh now, then every `interval_s` after the previous refresh ended, until cancelled."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # logged and retried at the next interval; the old value stays served
                log.warning("snapshot refresh failed (retrying in %.1fs): %s", self.interval_s, first_line(exc))
            await asyncio.sleep(self.interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Any = None) -> AsyncIterator[None]:
        """The refresher as a Litestar lifespan: started with the app, cancelled at its stop."""
        task = asyncio.create_task(self.run(), name="api-snapshot")
        try:
            yield
        finally:
            task.cancel()
            inflight = self._inflight
            if inflight is not None:
                inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
