"""The agent on `blocks`: store every block event (found / confirmed / orphaned) in ClickHouse.

Runs for as long as the worker runs. Undecodable events go to `blocks.rejected` with a reason header;
the rest are written in one INSERT per batch before the batch is acked (at-least-once, and replays
collapse on the block hash).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import msgspec

from bus.publisher import Publisher
from schemas.block import Block, decode_block
from schemas.dedup import dedup_token
from schemas.topics import TopicNames
from sinks.blocks import BlockWriter
from streams import metrics
from streams.settings import StreamSettings

log = logging.getLogger(__name__)


def process(events: list[Any], writer: BlockWriter, dead_letters: Publisher, rejected_topic: str) -> int:
    """Decode, route the undecodable, write the rest. Blocking (call in a thread). Returns blocks written."""
    blocks: list[Block] = []
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    bad = 0
    for event in events:
        msg = event.message
        first, last = ranges.get((msg.topic, msg.partition), (msg.offset, msg.offset))
        ranges[(msg.topic, msg.partition)] = (min(first, msg.offset), max(last, msg.offset))
        try:
            blocks.append(decode_block(msg.value or b""))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            bad += 1
            metrics.MESSAGES_MALFORMED.labels(msg.topic).inc()
            dead_letters.publish(rejected_topic, msg.value or b"", key=msg.key,
                                 headers={"reason": b"malformed", "error": str(exc).encode()[:500],
                                          "src": f"{msg.topic}/{msg.partition}/{msg.offset}".encode()})
    if bad:
        dead_letters.flush()
    writer.write(blocks, dedup_token("blocks", ranges))
    return len(blocks)


def attach_blocks(app: faust.App, settings: StreamSettings, topics: TopicNames, writer: BlockWriter,
                  dead_letters: Publisher) -> Any:
    topic = app.topic(topics.blocks, value_type=bytes, key_type=bytes, value_serializer="raw",
                      key_serializer="raw", partitions=settings.partitions)

    async def consume(stream: faust.StreamT[Any]) -> Any:
        assert isinstance(stream, faust.Stream)
        async for events in stream.noack_take(500, within=settings.flush_interval_s):
            written = await asyncio.shield(
                asyncio.to_thread(process, list(events), writer, dead_letters, topics.blocks_rejected)
            )
            for event in events:
                await stream.ack(event)
            if written:
                log.info("stored %d block event(s)", written)
            yield written

    return app.agent(topic, name=f"{settings.app_id}.blocks")(consume)
