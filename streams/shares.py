"""The agent on `shares`: validate every share, store it, route rejects; commit only what is durable.

Runs as a Faust agent for as long as the worker runs. Per flushed batch, in this order:
1. messages at or below ClickHouse's recorded offset for their partition are skipped (a replay);
2. decode + numba checks + duplicate window (in a thread);
3. rejected shares (Arrow batch) and undecodable messages (raw, with a reason header) go to
   `shares.rejected`, flushed;
4. all decoded shares, accepted or with their reason, are written to ClickHouse in one idempotent INSERT;
5. only then are the messages acked, so Faust commits their offsets.
A crash anywhere replays from the last commit: step 1 and the INSERT dedup token make that harmless; the
dead-letter topic is at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust
import numpy as np
import pyarrow as pa
from mode.types.signals import BaseSignalT

from bus.publisher import Publisher
from kernels.share_checks import DuplicateWindow
from schemas.clock import Clock
from schemas.dedup import dedup_token
from schemas.topics import TopicNames
from sinks.shares import ShareWriter
from streams import metrics
from streams.prepare import Decoded, Prepared, RawMessage, SharePreparer, decode
from streams.settings import StreamSettings

log = logging.getLogger(__name__)


def encode_rows(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return bytes(sink.getvalue().to_pybytes())


class ShareIngest:
    """The state and steps of the `shares` agent (kept apart from Faust so it can be driven directly)."""

    def __init__(
        self,
        settings: StreamSettings,
        topics: TopicNames,
        writer: ShareWriter,
        dead_letters: Publisher,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.writer = writer
        self.dead_letters = dead_letters
        self.clock = clock
        self.dedup = DuplicateWindow(settings.dedup_window_s * 1000)
        self.preparer = SharePreparer(settings, self.dedup)
        self._watermarks: dict[tuple[str, int], int] = {}
        self._loaded: set[str] = set()
        self.topic_ids: dict[str, str] = {}  # topic -> its broker id, resolved by the runtime before start
        self.last_activity = time.monotonic()
        self.batches = 0
        self.error: BaseException | None = None  # set if the agent died; health reports it

    def restore(self) -> None:
        """Rebuild the duplicate window from ClickHouse (state that matters survives a restart)."""
        since = self.clock.now_ms() - self.settings.dedup_window_s * 1000
        keys, times = self.writer.recent_keys(since)
        if keys:
            reasons = np.zeros(len(keys), dtype=np.uint8)
            self.dedup.mark(np.array(keys, dtype=np.uint64), np.array(times, dtype=np.int64), reasons)
        log.info("duplicate window restored with %d recent shares", len(keys))

    async def drained(self, idle_s: float = 1.0, timeout_s: float = 15.0) -> None:
        """Wait until the agent has seen no message for `idle_s` (bounded by `timeout_s`): called at shutdown
        after the sources stopped, so what they published is stored before the consumer goes away."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and time.monotonic() - self.last_activity < idle_s:
            await asyncio.sleep(0.1)

    def forget_partitions(self) -> None:
        """After a rebalance, read the watermarks again before trusting them."""
        self._loaded.clear()

    def _fresh(self, decoded: list[Decoded]) -> list[Decoded]:
        for topic in {d.message.topic for d in decoded} - self._loaded:
            for partition, offset in self.writer.watermarks(topic, self.topic_ids.get(topic, "")).items():
                self._watermarks[(topic, partition)] = offset
            self._loaded.add(topic)
        marks = self._watermarks
        fresh = [d for d in decoded if d.message.offset > marks.get((d.message.topic, d.message.partition), -1)]
        if len(fresh) < len(decoded):
            metrics.MESSAGES_REPLAYED.labels(self.topics.shares).inc(len(decoded) - len(fresh))
        return fresh

    def prepare_batch(self, decoded: list[Decoded]) -> Prepared | None:
        """Steps 1-3: drop replays, check, route rejects (blocking). None if every message was a replay."""
        fresh = self._fresh(decoded)
        if not fresh:
            return None
        prepared = self.preparer.prepare(fresh, self.clock.now_ms(), self.topic_ids)
        self._route_rejects(prepared)
        return prepared

    def store(self, prepared: Prepared) -> None:
        """Step 4: the one INSERT of the batch, durable on return (blocking); then watermarks and metrics."""
        started = time.perf_counter()
        ranges = {(f"{t}@{self.topic_ids.get(t, '')}", p): r for (t, p), r in prepared.ranges.items()}
        self.writer.write(prepared.rows, dedup_token("shares", ranges))
        metrics.SINK_BATCH_SECONDS.labels("shares").observe(time.perf_counter() - started)
        metrics.SINK_BATCH_ROWS.labels("shares").observe(prepared.rows.num_rows)
        for tp, (_, last) in prepared.ranges.items():
            self._watermarks[tp] = max(last, self._watermarks.get(tp, -1))
        metrics.SHARES_IN.labels("accepted").inc(prepared.accepted)
        metrics.SHARES_IN.labels("rejected").inc(prepared.rows.num_rows - prepared.accepted)
        for reason, count in prepared.by_reason.items():
            metrics.SHARES_REJECTED.labels(reason).inc(count)
        self.batches += 1

    def _route_rejects(self, prepared: Prepared) -> None:
        topic = self.topics.shares_rejected
        for msg, why in prepared.malformed:
            metrics.MESSAGES_MALFORMED.labels(msg.topic).inc()
            metrics.SHARES_REJECTED.labels("malformed").inc()
            self.dead_letters.publish(
                topic,
                msg.value,
                key=msg.key,
                headers={
                    "reason": b"malformed",
                    "error": why.encode()[:500],
                    "src": f"{msg.topic}/{msg.partition}/{msg.offset}".encode(),
                },
            )
        if prepared.rejected.num_rows:
            self.dead_letters.publish(topic, encode_rows(prepared.rejected), key=b"rejected-batch")
        if prepared.malformed or prepared.rejected.num_rows:
            self.dead_letters.flush()


def raw(event: Any) -> RawMessage:
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int((message.timestamp or 0) * 1000),
        value=message.value if isinstance(message.value, bytes) else bytes(message.value or b""),
        key=message.key,
    )


def decode_all(events: Sequence[Any]) -> list[Decoded]:
    return [decode(raw(e)) for e in events]


def attach(app: faust.App, ingest: ShareIngest) -> Any:
    """Register the `shares` agent on `app`. Batches are bounded by rows and time, acked after durability."""
    topic = app.topic(ingest.topics.shares, value_type=bytes, key_type=bytes, value_serializer="raw",
                      key_serializer="raw", partitions=ingest.settings.partitions)
    settings = ingest.settings

    def _revoked(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        ingest.forget_partitions()

    app.on_partitions_revoked.connect(_revoked)

    async def consume(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        # noack_take lives on the concrete Stream: events are acked by hand, after the write is durable
        assert isinstance(stream, faust.Stream)
        events_pending: list[Any] = []
        decoded_pending: list[Decoded] = []
        rows_pending = 0
        oldest = 0.0
        # Batch N is inserted while batch N+1 is taken and checked; N+1's insert waits for N's, so batches
        # become durable, and are acked, in offset order.
        storing: asyncio.Task[None] | None = None

        async def store_then_ack(prepared: Prepared | None, events: list[Any]) -> None:
            if prepared is not None:
                await asyncio.to_thread(ingest.store, prepared)
            for event in events:
                await stream.ack(event)

        async for events in stream.noack_take(settings.max_messages, within=settings.flush_interval_s):
            ingest.last_activity = time.monotonic()
            if not events_pending:
                oldest = time.monotonic()
            decoded = await asyncio.to_thread(decode_all, events)
            events_pending.extend(events)
            decoded_pending.extend(decoded)
            rows_pending += sum(d.rows for d in decoded)
            # A short take means the stream went quiet: flush now rather than wait for more.
            quiet = len(events) < settings.max_messages
            if not (quiet or rows_pending >= settings.max_rows
                    or time.monotonic() - oldest >= settings.flush_interval_s):
                continue
            try:
                # shielded: a stop request lets the batch in hand finish instead of abandoning it halfway
                prepared = await asyncio.shield(asyncio.to_thread(ingest.prepare_batch, decoded_pending))
                if storing is not None:
                    await asyncio.shield(storing)
                storing = asyncio.ensure_future(store_then_ack(prepared, events_pending))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                ingest.error = exc
                log.exception("share agent failed; its batch stays unacknowledged and will be replayed")
                raise
            events_pending, decoded_pending, rows_pending = [], [], 0
            yield None

    return app.agent(topic, name=f"{settings.app_id}.shares")(consume)
