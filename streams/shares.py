"""The agent on `shares`: validate every share, store it, route rejects; commit only what is durable.

Runs on the agent runtime (`streams.runtime`) for as long as the worker runs. Per flushed batch:
messages at or below ClickHouse's recorded offset for their partition (`ingest_progress`) are skipped as
replays; decode + numba checks + duplicate window (`streams.prepare`); rejected shares (Arrow) and
undecodable messages (raw, with a reason header) go to `shares.rejected`, flushed; every decoded share,
accepted or with its reason, is written in ONE idempotent INSERT (`insert_deduplication_token` from the
batch's offset ranges and topic ids); only then are the messages acked. A crash anywhere replays from the
last commit: the watermarks and the dedup token make that harmless; the dead-letter topic is at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import numpy as np

from bus.publisher import Publisher
from kernels.share_checks import DuplicateWindow
from schemas.clock import Clock
from schemas.rows import SHARES_TABLE
from schemas.topics import TopicNames
from sinks.shares import ShareWriter
from streams import metrics
from streams.deadletters import DEAD_LETTER_MAX_BYTES, DeadLetterRouter, DeadLetters, Undecodable
from streams.faust_batches import register_batched
from streams.offsets import OffsetRanges, RawMessage, Watermarks
from streams.prepare import Decoded, Prepared, SharePreparer, decode
from streams.runtime import AgentRuntime, BatchLimits
from streams.settings import StreamSettings
from streams.supervision import AgentState, AgentStatus

log = logging.getLogger(__name__)


class ShareIngest:
    """The state of the `shares` agent (duplicate window, watermarks, topic ids) and its batch steps
    (`streams.runtime.BatchHandler`); `runtime` drives them, with or without Faust."""

    def __init__(
        self,
        settings: StreamSettings,
        topics: TopicNames,
        writer: ShareWriter,
        dead_letters: Publisher,
        clock: Clock,
        *,
        status: AgentStatus | None = None,
        dead_letter_max_bytes: int = DEAD_LETTER_MAX_BYTES,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.writer = writer
        self.dead_letters = dead_letters
        self.clock = clock
        self.dedup = DuplicateWindow(settings.dedup_window_s * 1000)
        self.preparer = SharePreparer(settings, self.dedup)
        self.topic_ids: dict[str, str] = {}  # topic -> its broker id, resolved by the runtime before start
        self.status = status or AgentStatus("shares", topics.shares, monotonic=monotonic)
        self.watermarks = Watermarks(
            lambda topic: writer.watermarks(topic, self.topic_ids.get(topic, "")),
            lambda topic, count: metrics.MESSAGES_REPLAYED.labels(topic).inc(count),
        )
        self.runtime: AgentRuntime[Decoded, Prepared] = AgentRuntime(
            self,
            BatchLimits(settings.max_messages, settings.max_rows, settings.flush_interval_s),
            DeadLetterRouter(dead_letters, topics.shares_rejected, dead_letter_max_bytes),
            self.status,
            self.watermarks,
            monotonic=monotonic,
            sleep=sleep,
        )

    def restore(self) -> None:
        """Before consuming: complete the last INSERT if a crash cut it short (its tables agree again, and
        its offsets count as stored), then rebuild the duplicate window from ClickHouse."""
        topic = self.topics.shares
        done = self.writer.complete_last_insert(topic, self.topic_ids.get(topic, ""))
        if done.intent_rows:
            log.info("last insert before this start: %d of %d rows in shares; completed %s", done.raw_rows,
                     done.intent_rows, ", ".join(done.repaired) or "nothing")
        since = self.clock.now_ms() - self.settings.dedup_window_s * 1000
        keys, times = self.writer.recent_keys(since)
        if keys:
            reasons = np.zeros(len(keys), dtype=np.uint8)
            self.dedup.mark(np.array(keys, dtype=np.uint64), np.array(times, dtype=np.int64), reasons)
        log.info("duplicate window restored with %d recent shares", len(keys))

    async def drained(self, idle_s: float = 1.0, timeout_s: float = 2.0) -> bool:
        """Wait until the agent has seen no message for `idle_s` (at most `timeout_s`): called at shutdown
        after the sources stopped, so what they published is stored before the consumer goes away. False if
        messages were still arriving (a producer outside this process is still writing)."""
        return await self.runtime.drained(idle_s, timeout_s)

    def forget_partitions(self) -> None:
        """After a rebalance, read the watermarks again before trusting them."""
        self.watermarks.forget()

    @property
    def batches(self) -> int:
        return self.runtime.batches

    @property
    def error(self) -> str | None:
        """Why the agent is dead or failing (None while it is well)."""
        return self.status.reason if self.status.state in (AgentState.DEAD, AgentState.FAILING) else None

    # ---- streams.runtime.BatchHandler -------------------------------------------------------------------

    def decode(self, messages: Sequence[RawMessage]) -> list[Decoded]:
        return [decode(message) for message in messages]

    def rows(self, item: Decoded) -> int:
        return item.rows

    def prepare(self, items: Sequence[Decoded], ranges: OffsetRanges) -> Prepared:
        return self.preparer.prepare(items, self.clock.now_ms(), self.topic_ids, ranges.token(SHARES_TABLE))

    def rejects(self, prepared: Prepared) -> DeadLetters:
        return DeadLetters([Undecodable(message, why) for message, why in prepared.malformed], prepared.rejected)

    def write(self, prepared: Prepared, ranges: OffsetRanges) -> None:
        """The one INSERT of the batch, durable on return; then the metrics."""
        started = time.perf_counter()
        token = ranges.token(SHARES_TABLE, self.topic_ids)
        topic = self.topics.shares
        self.writer.record_intent(topic, self.topic_ids.get(topic, ""), token,
                                  [[p, a, b] for (t, p), (a, b) in sorted(ranges.ranges.items()) if t == topic],
                                  prepared.rows.num_rows)
        self.writer.write(prepared.rows, token)
        metrics.SINK_BATCH_SECONDS.labels(SHARES_TABLE).observe(time.perf_counter() - started)
        metrics.SINK_BATCH_ROWS.labels(SHARES_TABLE).observe(prepared.rows.num_rows)
        metrics.SHARES_IN.labels("accepted").inc(prepared.accepted)
        metrics.SHARES_IN.labels("rejected").inc(prepared.rows.num_rows - prepared.accepted)
        for reason, count in prepared.by_reason.items():
            metrics.SHARES_REJECTED.labels(reason).inc(count)
        if prepared.malformed:
            metrics.SHARES_REJECTED.labels("malformed").inc(len(prepared.malformed))


def attach(app: faust.App, ingest: ShareIngest) -> Any:
    """Register the `shares` agent on `app`: Faust's consumer hands it whole fetches
    (`streams.faust_batches`, no per-message Faust work); the runtime does the rest."""
    settings = ingest.settings
    return register_batched(app, f"{settings.app_id}.shares", ingest.topics.shares, settings.partitions, ingest.runtime)
