"""Faust under the agent runtime: a Faust stream as a `streams.runtime.Source`, and agent registration.

Messages are taken with `stream.noack_take` (nothing is acked by Faust itself) and acked by the runtime
once their batch is durable; Faust commits acked offsets every `commit_interval_s`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust
from mode.types.signals import BaseSignalT

from streams.offsets import RawMessage
from streams.runtime import AgentRuntime, Take


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


class FaustSource:
    def __init__(self, stream: faust.Stream[Any], max_messages: int, within_s: float) -> None:
        self._stream = stream
        self._max = max_messages
        self._within = within_s

    async def takes(self) -> AsyncIterator[Take]:
        async for events in self._stream.noack_take(self._max, within=self._within):
            yield Take(list(events), raw)

    async def ack(self, take: Take) -> None:
        for event in take.events:
            await self._stream.ack(event)


def register(app: faust.App, name: str, topic_name: str, partitions: int, runtime: AgentRuntime[Any, Any]) -> Any:
    """Register `runtime` as the Faust agent `name` on `topic_name` (raw bytes). After a rebalance its
    watermarks are read again."""
    topic = app.topic(topic_name, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw",
                      partitions=partitions)
    watermarks = runtime.watermarks
    if watermarks is not None:
        def revoked(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
            watermarks.forget()

        app.on_partitions_revoked.connect(revoked)

    async def consume(stream: faust.StreamT[Any]) -> AsyncIterator[int]:
        assert isinstance(stream, faust.Stream)  # noack_take lives on the concrete Stream
        limits = runtime.limits
        async for count in runtime.run(FaustSource(stream, limits.max_messages, limits.flush_interval_s)):
            yield count

    return app.agent(topic, name=name)(consume)
