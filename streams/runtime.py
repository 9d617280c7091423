"""The agent runtime: the one loop every agent runs, from a batch of Kafka messages to durable rows.

Per flushed batch, in this order:
1. decode each take of messages (in a thread) and collect takes until the batch is due: `max_rows` rows,
   `flush_interval_s` since its first take (whether or not another take arrives), or a short take (the
   stream went quiet);
2. drop replays: messages at or below their partition's watermark (`streams.offsets.Watermarks`);
3. the agent's checks (`BatchHandler.prepare`, in a thread);
4. dead letters published and flushed (`streams.deadletters`, split to fit the broker's limit);
5. ONE idempotent write of the batch (`BatchHandler.write`, dedup token from the batch's offset ranges),
   durable on return; then the watermarks advance and the batch's messages are acked.
Step 5 of batch N runs while batch N+1 goes through 1-4; N+1's write starts only after N's is done, so
batches become durable, and are acked, in offset order. Every step is supervised
(`streams.supervision.supervised`): a failure is reported and the step retried with backoff, the batch
unacked meanwhile. A stop (the source ends, or the task is cancelled) leaves the batch being collected
unacked (it is replayed at the next start) and lets the write in flight finish (`stored()`).

If the task dies anyway (an error outside the supervised steps, e.g. in the Faust stream), the agent is
`dead` and, restarted by Faust, consumes nothing more in this process: messages taken but not stored would
be skipped by the watermarks once later offsets were stored. Health answers 503 with the reason; a process
restart replays them.

The runtime knows no Faust: a `Source` yields `Take`s and acks them (`streams.faust_source` adapts a
Faust stream; tests use a plain async iterator).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from streams.deadletters import DeadLetterRouter, DeadLetters
from streams.offsets import FromMessage, OffsetRanges, RawMessage, Watermarks
from streams.supervision import DEFAULT_BACKOFF, AgentState, AgentStatus, Backoff, supervised

D = TypeVar("D", bound=FromMessage)  # what one message decodes to
P = TypeVar("P")  # a checked batch, ready to write
T = TypeVar("T")


class BatchHandler(Protocol[D, P]):
    """What an agent adds to the runtime. `decode`, `prepare` and `write` block (they run in threads)."""

    def decode(self, messages: Sequence[RawMessage]) -> list[D]: ...

    def rows(self, item: D) -> int:
        """Rows `item` adds to its batch (the `max_rows` bound)."""
        ...

    def prepare(self, items: Sequence[D], ranges: OffsetRanges) -> P:
        """Check a batch. Called again for the same batch if it raised, so it must not leave state behind
        that would change the second answer."""
        ...

    def rejects(self, prepared: P) -> DeadLetters:
        """What the batch routes to its dead-letter topic."""
        ...

    def write(self, prepared: P, ranges: OffsetRanges) -> None:
        """ONE idempotent write (token from `ranges`), durable on return."""
        ...


class Take:
    """Messages taken from the stream at once, and what the source needs to ack them (opaque here)."""

    def __init__(self, events: Sequence[Any], to_message: Callable[[Any], RawMessage] | None = None) -> None:
        self.events = events
        self._to_message = to_message

    def __len__(self) -> int:
        return len(self.events)

    def messages(self) -> list[RawMessage]:
        if self._to_message is None:
            return list(self.events)
        return [self._to_message(event) for event in self.events]


class Source(Protocol):
    def takes(self) -> AsyncIterator[Take]: ...

    async def ack(self, take: Take) -> None: ...


@dataclass(frozen=True)
class BatchLimits:
    max_messages: int = 100  # messages taken at a time; a shorter take means the stream went quiet
    max_rows: int = 200_000
    flush_interval_s: float = 0.5


@dataclass
class _Collecting(Generic[D]):
    takes: list[Take] = field(default_factory=list)
    items: list[D] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0


class AgentRuntime(Generic[D, P]):
    def __init__(
        self,
        handler: BatchHandler[D, P],
        limits: BatchLimits,
        dead_letters: DeadLetterRouter,
        status: AgentStatus,
        watermarks: Watermarks | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.dead_letters = dead_letters
        self.status = status
        self.watermarks = watermarks
        self._monotonic = monotonic
        self._sleep = sleep
        self._backoff = backoff
        self._storing: asyncio.Future[None] | None = None
        self._pending_since: float | None = None  # when the batch being collected got its first take
        self._entered = False
        self.last_activity = monotonic()  # when a take last arrived
        self.batches = 0  # batches written

    async def run(self, source: Source) -> AsyncIterator[int]:
        """Consume `source` until it ends or the task is cancelled; yields the message count of each batch."""
        if self._entered:
            # Faust restarts an agent task that ended while the worker runs (a crash, or a cancel that was no
            # stop). What the old task had taken is unacked, and storing later offsets would let the
            # watermarks skip it on replay: report it and consume nothing more; a process restart replays it.
            if self.status.state is not AgentState.DEAD:
                self.status.died(RuntimeError("the agent task ended unexpectedly and was restarted"))
            await asyncio.Event().wait()
        self._entered = True
        self.status.started()
        batch: _Collecting[D] = _Collecting()
        try:
            async for take in self._takes(source):
                if take is None:  # the batch waited its interval and nothing more came: flush it now
                    self._pending_since = None
                    await self._flush(batch, source)
                    yield sum(len(t) for t in batch.takes)
                    batch = _Collecting()
                    continue
                now = self.last_activity = self._monotonic()
                decoded = await self._step("decode", functools.partial(self._decode, take))
                if not batch.takes:
                    batch.since = self._pending_since = now
                batch.takes.append(take)
                batch.items.extend(decoded)
                batch.rows += sum(self.handler.rows(item) for item in decoded)
                quiet = len(take) < self.limits.max_messages
                if not (quiet or batch.rows >= self.limits.max_rows
                        or now - batch.since >= self.limits.flush_interval_s):
                    continue
                self._pending_since = None
                await self._flush(batch, source)
                yield sum(len(t) for t in batch.takes)
                batch = _Collecting()
            if self._storing is not None:
                await asyncio.shield(self._storing)
        except Exception as exc:  # outside the supervised steps: the agent is dead, and says so
            self.status.died(exc)
            raise
        finally:  # ended, cancelled (a stop) or closed
            if self.status.state is not AgentState.DEAD:
                self.status.stopped()

    async def _takes(self, source: Source) -> AsyncIterator[Take | None]:
        """The source's takes, and None when a batch is pending (`self._pending_since`) and its flush
        interval has passed without a take. Without it the last take of a burst that fills `max_messages`
        exactly would wait for the next message (a quiet topic after a producer's last batch: those shares
        were stored only when more came). The source is asked for its next take in a task of its own that a
        timeout does not cancel: no take is read ahead, none is abandoned half-read."""
        takes = source.takes().__aiter__()
        asking: asyncio.Future[Take] | None = None
        try:
            while True:
                if asking is None:
                    asking = asyncio.ensure_future(takes.__anext__())
                since = self._pending_since
                timeout = None if since is None else max(0.0, since + self.limits.flush_interval_s - self._monotonic())
                done, _ = await asyncio.wait({asking}, timeout=timeout)
                if not done:
                    yield None
                    continue
                answered, asking = asking, None
                try:
                    take = answered.result()
                except StopAsyncIteration:
                    return
                yield take
        finally:
            if asking is not None:
                asking.cancel()
                await asyncio.gather(asking, return_exceptions=True)

    def _decode(self, take: Take) -> list[D]:
        return self.handler.decode(take.messages())

    async def _flush(self, batch: _Collecting[D], source: Source) -> None:
        items: Sequence[D] = batch.items
        if self.watermarks is not None:
            watermarks = self.watermarks
            items = await self._step("replay filter", lambda: watermarks.fresh(batch.items))
        ranges = OffsetRanges.of(item.message for item in items)
        prepared: P | None = None
        if items:
            checked = prepared = await self._step("checks", lambda: self.handler.prepare(items, ranges))
            await self._step("dead letters", lambda: self.dead_letters.route(self.handler.rejects(checked)))
        if self._storing is not None:
            # shielded: a stop cancels this loop, not the write in flight
            await asyncio.shield(self._storing)
        self._storing = asyncio.ensure_future(self._store_then_ack(prepared, ranges, batch.takes, source))

    async def _store_then_ack(self, prepared: P | None, ranges: OffsetRanges, takes: list[Take],
                              source: Source) -> None:
        if prepared is not None:
            await self._step("write", lambda: self.handler.write(prepared, ranges))
            if self.watermarks is not None:
                self.watermarks.advance(ranges)
            self.batches += 1
        for take in takes:
            await source.ack(take)
        self.status.progressed()

    async def _step(self, step: str, call: Callable[[], T]) -> T:
        return await supervised(self.status, step, lambda: asyncio.to_thread(call), self._sleep, self._backoff)

    async def stored(self) -> None:
        """Wait until the write in flight (if any) is durable and acked. Never raises: a failure is the
        agent's death, reported on its status."""
        task = self._storing
        if task is None:
            return
        await asyncio.wait({task})
        if not task.cancelled() and (exc := task.exception()) is not None and self.status.state is not AgentState.DEAD:
            self.status.died(exc)

    async def drained(self, idle_s: float = 1.0, timeout_s: float = 2.0) -> bool:
        """Wait until no message arrived for `idle_s`, at most `timeout_s` (at shutdown, after the sources
        stopped: what they published is stored before the consumer goes away, within the stop budget).
        True if the stream went quiet; False if messages were still arriving at the deadline."""
        deadline = self._monotonic() + timeout_s
        while self._monotonic() < deadline and self._monotonic() - self.last_activity < idle_s:
            await self._sleep(0.05)
        return self._monotonic() - self.last_activity >= idle_s
