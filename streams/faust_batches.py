"""Whole fetches to an agent: the Faust consumer hands the records of a *batched* topic to its agent as one
list per fetched partition, without Faust's per-message machinery.

Why: on the 2-core machine Faust's per-message path costs ~100 µs a message (the fetcher awaits
`wait_first(callback(message), ...)` per message, ~50 µs alone; then an Event, a queue put and the stream's
per-event bookkeeping), which caps one-share-per-message JSON at ~5-10k shares/s whatever the agent does.
Here a fetch of N records of a batched topic costs one queue put; the agent decodes them in one go.

What stays Faust's: the consumer group, assignment and rebalances, seeking to the committed offsets, flow
control (a rebalance suspends delivery and clears the inbox, as it clears Faust's stream buffers), and the
commit of acked offsets every `commit_interval_s`. What is the agent's: ack after durable —
`BatchSource.ack` marks a take's offsets acked (the same bookkeeping as `Consumer.ack`) only once the
runtime stored them. Topics not batched (blocks, telemetry) go through Faust's per-message path unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.types.signals import BaseSignalT
from mode.utils.queues import FlowControlQueue

from streams.offsets import RawMessage
from streams.runtime import AgentRuntime, Take

#: how long a take waits for more fetches after its first (latency added at low rates, at most)
LINGER_S = 0.05
POLL_S = 0.005
Inbox = FlowControlQueue[list[Any]]  # one item per fetched partition: its records (aiokafka ConsumerRecords)
#: fetched partitions waiting for their agent (each up to `max.poll.records` records): the backpressure bound
INBOX_FETCHES = 64


def record_message(record: Any) -> RawMessage:
    """An aiokafka `ConsumerRecord` as the runtime's message."""
    value = record.value
    return RawMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=int(record.timestamp or 0),
        value=value if isinstance(value, bytes) else bytes(value or b""),
        key=record.key,
    )


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, with topics whose records are delivered by fetch (`inboxes`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = inboxes(cast(faust.App, self.app))

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - runs inside Faust
        """Faust's fetch loop (`Consumer._drain_messages` + `getmany`), with one put per fetched partition of
        a batched topic; other topics per message, as Faust does it."""
        callback = self.callback
        inboxes = self.inboxes
        batched = batched_topics(cast(faust.App, self.app))
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        stopped = cast(Any, self)._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)
                if records is None or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()  # Faust's answer too: what was fetched is fetched again
                    continue
                generation = self.app.consumer_generation_id
                for tp, batch in records.items():
                    if not batch or (active is not None and tp not in active
                                     and tp not in self._buffered_partitions):
                        continue
                    if not self.flow_active or self.app.consumer_generation_id != generation:
                        break
                    self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                    inbox = inboxes.get(tp.topic)
                    while inbox is None and tp.topic in batched:  # its agent task is starting
                        await self.sleep(0.01)
                        inbox = inboxes.get(tp.topic)
                    last = read_offset[tp]
                    fresh = [r for r in batch if last is None or r.offset >= last]
                    if not fresh:
                        continue
                    if acks_enabled_for(tp.topic):
                        await self._gaps(tp, last, fresh)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                    if inbox is not None:
                        await inbox.put(fresh)
                    else:
                        for record in fresh:
                            await self.wait_first(callback(self._to_message(tp, record)), self.suspend_flow.wait())
                    read_offset[tp] = fresh[-1].offset
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise

    async def _gaps(self, tp: TP, last: int | None, records: Sequence[Any]) -> None:
        """Offsets the broker skipped (compaction, transaction markers) count as acked, as in Faust."""
        previous = last
        for record in records:
            if previous and record.offset - previous > 1:
                await self._add_gap(tp, previous + 1, record.offset)
            previous = record.offset

    def ack_offsets(self, tp: TP, offsets: Iterable[int]) -> None:
        """`Consumer.ack` for records delivered by fetch: the offsets are safe to commit."""
        with ack_lock:
            committed = self._committed_offset[tp]
            acked_index = self._acked_index[tp]
            acked = self._acked[tp]
            for offset in offsets:
                if (committed is None or offset >= committed) and offset not in acked_index:
                    acked_index.add(offset)
                    acked.append(offset)
                    self._n_acked += 1


def inboxes(app: faust.App) -> dict[str, Inbox]:
    """The batched topics of `app` -> their inbox (created with the app, filled by its consumer)."""
    found: dict[str, Inbox] | None = getattr(app, "_poolstream_inboxes", None)
    if found is None:
        found = {}
        app._poolstream_inboxes = found  # type: ignore[attr-defined]
    return found


def batched_topics(app: faust.App) -> set[str]:
    """The topics of `app` consumed by fetch (their inbox is made when their agent task starts)."""
    found: set[str] | None = getattr(app, "_poolstream_batched", None)
    if found is None:
        found = set()
        app._poolstream_batched = found  # type: ignore[attr-defined]
    return found


class BatchingApp(faust.App):
    """A Faust app whose consumer is a `BatchingConsumer` (set when the transport is made, lazily, in the
    running loop: touching `app.transport` earlier would bind the app to the wrong loop)."""

    def _new_transport(self) -> Any:
        transport = super()._new_transport()
        transport.Consumer = BatchingConsumer  # type: ignore[misc]  # this transport only, not the class
        return transport


class BatchSource:
    """A batched topic's inbox as a `streams.runtime.Source`. A take is the fetches that arrive within
    `linger_s` of the first (fewer than `max_messages` records then: the runtime flushes at once, the stream is
    quiet), or as soon as they hold `max_messages` records (the runtime keeps collecting its batch). Without
    the linger, a steady trickle of small fetches would each look quiet and be written as its own tiny INSERT."""

    def __init__(self, app: faust.App, inbox: Inbox, max_messages: int, linger_s: float) -> None:
        self._app = app
        self._inbox = inbox
        self._max = max_messages
        self._linger = linger_s

    async def takes(self) -> AsyncIterator[Take]:
        loop = asyncio.get_running_loop()
        while True:
            records: list[Any] = list(await self._inbox.get())
            deadline = loop.time() + self._linger
            while len(records) < self._max:
                if not self._inbox.empty():
                    records.extend(self._inbox.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                # a short poll, not wait_for(get()): a timeout must never cancel a get that took a fetch
                await asyncio.sleep(min(left, POLL_S))
            yield Take(records, record_message)

    async def ack(self, take: Take) -> None:
        by_partition: dict[TP, list[int]] = {}
        for record in take.events:
            by_partition.setdefault(TP(record.topic, record.partition), []).append(record.offset)
        consumer = cast(BatchingConsumer, self._app.consumer)
        for tp, offsets in by_partition.items():
            consumer.ack_offsets(tp, offsets)


def register_batched(app: faust.App, name: str, topic_name: str, partitions: int,
                     runtime: AgentRuntime[Any, Any]) -> Any:
    """Consume `topic_name` by fetch into `runtime` (the Faust agent `name`); the app must use the
    `BatchingConsumer` (`BatchingApp`). After a rebalance the runtime's watermarks are read again."""
    if not isinstance(app, BatchingApp):
        raise TypeError("register_batched needs a BatchingApp (streams.app.create_faust_app makes one)")
    topic = app.topic(topic_name, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw",
                      partitions=partitions, acks=True)
    batched_topics(app).add(topic_name)
    watermarks = runtime.watermarks
    if watermarks is not None:
        def revoked(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
            watermarks.forget()

        app.on_partitions_revoked.connect(revoked)

    limits = runtime.limits
    linger = min(LINGER_S, limits.flush_interval_s / 4)

    async def consume(stream: faust.StreamT[Any]) -> AsyncIterator[int]:
        # A Faust agent, started where the stock agents start (before the consumer subscribes), whose stream
        # is never iterated: the consumer hands this topic's records to the inbox instead. Made in the running
        # loop (`app.flow_control` and the conductor bind the app's loop); the consumer waits for the inbox.
        inbox: Inbox = FlowControlQueue(INBOX_FETCHES, flow_control=app.flow_control, clear_on_resume=True)
        inboxes(app)[topic_name] = inbox
        app.topics.add(topic)  # subscribed, with acks (offsets committed only once acked)
        async for count in runtime.run(BatchSource(app, inbox, limits.max_messages, linger)):
            yield count

    return app.agent(topic, name=name)(consume)
