"""The agent on `blocks`: store every block event (found / confirmed / orphaned) in ClickHouse.

Runs on the agent runtime (`streams.runtime`) for as long as the worker runs, in batches of up to 500
events. Undecodable events go to `blocks.rejected` with a reason header; the rest are written in one
INSERT per batch (dedup token from its offset ranges) before the batch is acked: at-least-once, and
replays collapse on the block hash (ReplacingMergeTree).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import faust

from bus.publisher import Publisher
from schemas.block import Block, DecodeError, decode_block
from schemas.rows import BLOCKS_TABLE
from schemas.topics import TopicNames
from sinks.blocks import BlockWriter
from streams.deadletters import DEAD_LETTER_MAX_BYTES, DeadLetterRouter, DeadLetters, Undecodable
from streams.faust_source import register
from streams.offsets import OffsetRanges, RawMessage
from streams.runtime import AgentRuntime, BatchLimits
from streams.settings import StreamSettings
from streams.supervision import AgentStatus, describe

log = logging.getLogger(__name__)

MAX_EVENTS = 500  # per batch


@dataclass(frozen=True)
class BlockEvent:
    message: RawMessage
    block: Block | None
    error: str = ""


@dataclass(frozen=True)
class BlockBatch:
    blocks: list[Block]
    undecodable: list[Undecodable]


class BlockIngest:
    """The batch steps of the `blocks` agent (`streams.runtime.BatchHandler`)."""

    def __init__(self, writer: BlockWriter, topic_ids: dict[str, str] | None = None) -> None:
        self.writer = writer
        self.topic_ids = topic_ids if topic_ids is not None else {}  # topic -> broker id, kept by the runtime

    def decode(self, messages: Sequence[RawMessage]) -> list[BlockEvent]:
        """Never raises: every message is a block event or a reason to dead-letter it."""
        events = []
        for message in messages:
            try:
                events.append(BlockEvent(message, decode_block(message.value)))
            except DecodeError as exc:
                events.append(BlockEvent(message, None, str(exc)))
            except Exception as exc:  # decoding is a pure function of the bytes: retrying would fail the same way
                events.append(BlockEvent(message, None, f"undecodable: {describe(exc)}"))
        return events

    def rows(self, item: BlockEvent) -> int:
        return 1

    def prepare(self, items: Sequence[BlockEvent], ranges: OffsetRanges) -> BlockBatch:
        return BlockBatch([e.block for e in items if e.block is not None],
                          [Undecodable(e.message, e.error) for e in items if e.block is None])

    def rejects(self, prepared: BlockBatch) -> DeadLetters:
        return DeadLetters(prepared.undecodable)

    def write(self, prepared: BlockBatch, ranges: OffsetRanges) -> None:
        self.writer.write(prepared.blocks, ranges.token(BLOCKS_TABLE, self.topic_ids))
        if prepared.blocks:
            log.info("stored %d block event(s)", len(prepared.blocks))


def attach_blocks(app: faust.App, settings: StreamSettings, topics: TopicNames, writer: BlockWriter,
                  dead_letters: Publisher, *, status: AgentStatus | None = None,
                  dead_letter_max_bytes: int = DEAD_LETTER_MAX_BYTES,
                  topic_ids: dict[str, str] | None = None) -> AgentRuntime[BlockEvent, BlockBatch]:
    """Register the `blocks` agent on `app`; returns its runtime (for `stored()` at stop). `topic_ids` is the
    composition root's map of topic -> broker id, refreshed at every partition assignment."""
    runtime: AgentRuntime[BlockEvent, BlockBatch] = AgentRuntime(
        BlockIngest(writer, topic_ids),
        BatchLimits(max_messages=MAX_EVENTS, max_rows=MAX_EVENTS, flush_interval_s=settings.flush_interval_s),
        DeadLetterRouter(dead_letters, topics.blocks_rejected, dead_letter_max_bytes),
        status or AgentStatus("blocks", topics.blocks),
    )
    register(app, f"{settings.app_id}.blocks", topics.blocks, settings.partitions, runtime)
    return runtime
