"""One hub per app: who listens to which channel, the latest push of each, and the loops that feed them.

Fan-out is per channel: a push is encoded once and `offer`ed to each subscriber's bounded queue (never
awaited), so a slow client is dropped by its own session and nobody else waits. Loops (started and stopped
with the app; each idles while its channel has no subscriber, and survives a failing read — logged, retried):

* `stats`: the pool snapshot (`Feeds.stats`, in memory) is looked at every 0.25 s; a new value is pushed.
* `blocks`: `BlockFeed.poll` every `poll_s` (0.5 s) for rows of the `blocks` table not pushed yet.
* `miner:ADDRESS`: `MinerFeed.poll` of every subscribed address every `poll_s`; pushed when its share counts
  or last share changed, and when only its hashrate moved (it drifts as the window slides) at most every
  `drift_s` (5 s).
* `hardware`, `federation`: their REST answers, every `snapshot_s` (2 s); pushed when changed. `hardware`
  also gets `{"type": "alert"}` events (`AlertSource.poll` every `poll_s`): an alert opened or cleared.

A subscriber gets the channel's latest push at once (not for `blocks`: those are events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from api.ws import protocol
from api.ws.protocol import BLOCKS, FEDERATION, HARDWARE, MINER_PREFIX, STATS, BlockData, MinerData, Push
from api.ws.session import CLOSE_GOING_AWAY, Session

log = logging.getLogger(__name__)


class BlockSource(Protocol):
    def start(self) -> None: ...  # from now on, new blocks only
    async def poll(self) -> Sequence[BlockData]: ...


class AlertSource(Protocol):
    def start(self) -> None: ...  # from now on, new alert states only
    async def poll(self) -> Sequence[Any]: ...


class MinerSource(Protocol):
    async def poll(self, addresses: Sequence[str]) -> Mapping[str, MinerData]: ...


Fetch = Callable[[], Awaitable[Any]]


@dataclass
class Feeds:
    """Where the pushes come from; a missing one leaves its channel silent (subscribable all the same)."""

    stats: Callable[[], Any] | None = None  # the latest pool stats (StatsData), in memory
    blocks: BlockSource | None = None
    miners: MinerSource | None = None
    hardware: Fetch | None = None  # the /monitoring/hardware answer
    federation: Fetch | None = None  # the /federation/status answer
    alerts: AlertSource | None = None  # alerts opened or cleared, pushed on `hardware`


class Hub:
    def __init__(self, feeds: Feeds, *, poll_s: float = 0.5, snapshot_s: float = 2.0,
                 stats_s: float = 0.25, drift_s: float = 5.0) -> None:
        self.feeds = feeds
        self._poll_s, self._snapshot_s, self._stats_s, self._drift_s = poll_s, snapshot_s, stats_s, drift_s
        self._miner_pushed: dict[str, tuple[tuple[object, ...], float]] = {}  # channel -> (figures, when)
        self._subs: dict[str, set[Session]] = {}
        self._latest: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.errors = 0  # failed feed reads (logged; the loop retries)

    # ---- subscriptions ------------------------------------------------------------------------------------

    def subscribe(self, session: Session, channel: str) -> None:
        listeners = self._subs.setdefault(channel, set())
        if channel == BLOCKS and not listeners and self.feeds.blocks is not None:
            self.feeds.blocks.start()
        if channel == HARDWARE and not listeners and self.feeds.alerts is not None:
            self.feeds.alerts.start()
        listeners.add(session)
        latest = self._latest.get(channel)
        if latest is not None:
            session.offer(latest)
        self._wake.set()

    def unsubscribe(self, session: Session, channel: str) -> None:
        listeners = self._subs.get(channel)
        if listeners is not None:
            listeners.discard(session)
            if not listeners:
                del self._subs[channel]
                if channel.startswith(MINER_PREFIX):
                    self._latest.pop(channel, None)
                    self._miner_pushed.pop(channel, None)

    def leave(self, session: Session) -> None:
        for channel in list(session.channels):
            self.unsubscribe(session, channel)

    def listeners(self, channel: str) -> int:
        return len(self._subs.get(channel, ()))

    def publish(self, channel: str, message: str, *, keep: bool = True) -> int:
        """Offer `message` to every subscriber of `channel`; returns how many queued it."""
        if keep:
            self._latest[channel] = message
        return sum(session.offer(message) for session in list(self._subs.get(channel, ())))

    def _publish_if_changed(self, channel: str, push: Push) -> None:
        message = protocol.encode(push)
        if self._latest.get(channel) != message:
            self.publish(channel, message)

    # ---- life ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        loops: list[tuple[str, Callable[[], Awaitable[None]], float]] = [
            ("stats", self._stats_once, self._stats_s),
            ("blocks", self._blocks_once, self._poll_s),
            ("miners", self._miners_once, self._poll_s),
            ("alerts", self._alerts_once, self._poll_s),
            ("hardware", lambda: self._snapshot_once(HARDWARE, self.feeds.hardware), self._snapshot_s),
            ("federation", lambda: self._snapshot_once(FEDERATION, self.feeds.federation), self._snapshot_s),
        ]
        self._tasks = [asyncio.create_task(self._loop(name, step, every), name=f"ws-{name}")
                       for name, step, every in loops]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for session in {s for listeners in self._subs.values() for s in listeners}:
            session.drop(CLOSE_GOING_AWAY, "server shutting down")

    async def _loop(self, name: str, step: Callable[[], Awaitable[None]], every: float) -> None:
        failures = 0
        while True:
            try:
                await step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed read: logged and counted, retried with backoff
                failures += 1
                self.errors += 1
                log.warning("websocket %s feed failed (%d in a row): %s: %s", name, failures,
                            type(exc).__name__, str(exc)[:300])
            delay = min(every * 2 ** min(failures, 5), 10.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def _stats_once(self) -> None:
        if self.feeds.stats is None:
            return
        data = self.feeds.stats()
        if data is not None:  # kept even without listeners: a new subscriber gets it at once
            self._publish_if_changed(STATS, Push(type="stats", data=data))

    async def _blocks_once(self) -> None:
        if self.feeds.blocks is None or not self.listeners(BLOCKS):
            return
        for block in await self.feeds.blocks.poll():
            self.publish(BLOCKS, protocol.encode(Push(type="block", data=block)), keep=False)

    async def _alerts_once(self) -> None:
        if self.feeds.alerts is None or not self.listeners(HARDWARE):
            return
        for alert in await self.feeds.alerts.poll():
            self.publish(HARDWARE, protocol.encode(Push(type="alert", data=alert, channel=HARDWARE)), keep=False)

    async def _miners_once(self) -> None:
        channels = [c for c in self._subs if c.startswith(MINER_PREFIX)]
        if self.feeds.miners is None or not channels:
            return
        found = await self.feeds.miners.poll([c[len(MINER_PREFIX):] for c in channels])
        now = time.monotonic()
        for address, data in found.items():
            channel = MINER_PREFIX + address
            if channel not in self._subs:
                continue
            figures = (data.shares_accepted, data.shares_rejected, data.last_share, data.balance)
            last = self._miner_pushed.get(channel)
            if last is None or last[0] != figures or now - last[1] >= self._drift_s:
                before = self._latest.get(channel)
                self._publish_if_changed(channel, Push(type="miner", data=data, channel=channel))
                if self._latest.get(channel) != before:
                    self._miner_pushed[channel] = (figures, now)

    async def _snapshot_once(self, channel: str, fetch: Fetch | None) -> None:
        if fetch is None or not self.listeners(channel):
            return
        self._publish_if_changed(channel, Push(type=channel, data=await fetch()))
