"""Where a batch came from: the Kafka messages an agent consumes, the offset ranges a batch covers, and the
replay watermarks that make a replay write nothing twice.

`OffsetRanges` is the one place offset ranges are accumulated; the INSERT's dedup token is built from it
(`schemas.dedup.dedup_token`), so a retried INSERT of the same messages is a no-op. `Watermarks` keeps,
per (topic, partition), the highest offset ClickHouse holds; messages at or below it are replays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from schemas.dedup import dedup_token

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # when the source published it (Kafka message timestamp)
    value: bytes
    key: bytes | None = None


class FromMessage(Protocol):
    """Anything an agent made of one message (a decoded share batch, a block event)."""

    @property
    def message(self) -> RawMessage: ...


Item = TypeVar("Item", bound=FromMessage)


@dataclass
class OffsetRanges:
    """(topic, partition) -> (first, last) offset of the messages a batch covers."""

    ranges: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, messages: Iterable[RawMessage]) -> OffsetRanges:
        out = cls()
        for message in messages:
            out.add(message)
        return out

    def add(self, message: RawMessage) -> None:
        tp = (message.topic, message.partition)
        first, last = self.ranges.get(tp, (message.offset, message.offset))
        self.ranges[tp] = (min(first, message.offset), max(last, message.offset))

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def token(self, table: str, topic_ids: Mapping[str, str] | None = None) -> str:
        """The INSERT's `insert_deduplication_token`. With `topic_ids`, topics are keyed `name@id` (a
        re-created topic starts its offsets at 0 again and must not look like a replay)."""
        if topic_ids is None:
            return dedup_token(table, self.ranges)
        return dedup_token(table, {(f"{t}@{topic_ids.get(t, '')}", p): r for (t, p), r in self.ranges.items()})


class Watermarks:
    """The highest offset durably written per (topic, partition), read from ClickHouse the first time a topic
    is seen (and again after a rebalance) and advanced by every stored batch."""

    def __init__(self, read: Callable[[str], Mapping[int, int]], replayed: Callable[[str, int], None]) -> None:
        self._read = read  # topic -> {partition: highest stored offset}
        self._replayed = replayed  # called with (topic, messages skipped)
        self._marks: dict[TopicPartition, int] = {}
        self._loaded: set[str] = set()

    def forget(self) -> None:
        """After a rebalance, read the watermarks again before trusting them."""
        self._loaded.clear()

    def reset(self, topic: str) -> None:
        """`topic` is a new incarnation (re-created, or a new broker): its old offsets mean nothing any more."""
        self._marks = {tp: mark for tp, mark in self._marks.items() if tp[0] != topic}
        self._loaded.discard(topic)

    def fresh(self, items: Sequence[Item]) -> list[Item]:
        """The items whose message is above the watermark of its partition (blocking: may read ClickHouse)."""
        for topic in {item.message.topic for item in items} - self._loaded:
            for partition, offset in self._read(topic).items():
                self._marks[(topic, partition)] = max(offset, self._marks.get((topic, partition), -1))
            self._loaded.add(topic)
        marks = self._marks
        fresh = [i for i in items if i.message.offset > marks.get((i.message.topic, i.message.partition), -1)]
        if len(fresh) < len(items):
            skipped: dict[str, int] = {}
            for item in items:
                if item.message.offset <= marks.get((item.message.topic, item.message.partition), -1):
                    skipped[item.message.topic] = skipped.get(item.message.topic, 0) + 1
            for topic, count in skipped.items():
                self._replayed(topic, count)
        return fresh

    def advance(self, ranges: OffsetRanges) -> None:
        for tp, (_, last) in ranges.ranges.items():
            self._marks[tp] = max(last, self._marks.get(tp, -1))
