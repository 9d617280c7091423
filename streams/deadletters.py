"""Dead letters: what a batch routes to its `*.rejected` topic, split to fit the broker's message limit.

Two kinds. Rows the checks rejected go as Arrow IPC streams (the rows with their `status`, the reason),
sliced so each encoded message is at most `max_bytes`, with a `part` header (`i/n`) and a `reason` header
(the distinct statuses of its rows, comma-separated). A message that could not be decoded goes as its raw
bytes with `reason`, `error` and `src` (`topic/partition/offset`) headers; one larger than `max_bytes` is
cut to `max_bytes` and says so (`truncated: 1`, `original_size`): never dropped. Every dead letter, message
or row, is counted once delivered: `poolstream_dead_letters_total{topic, reason}` (topic = the dead-letter
topic).

The default limit, 1,000,000 bytes, fits Apache Kafka's default broker limit (`message.max.bytes`
1,048,588) with room for key and headers; the Publisher's own limit is 16 MiB and the embedded Tansu broker
takes larger messages still. `DeadLetterRouter.route` returns once every message is delivered (flushed);
a failure raises and the agent runtime routes the batch again (at-least-once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from streams import metrics
from streams.offsets import RawMessage

DEAD_LETTER_MAX_BYTES = 1_000_000
ROWS_KEY = b"rejected-batch"
_ERROR_CHARS = 500


class Producer(Protocol):
    """What routing needs of `bus.publisher.Publisher`."""

    def publish(self, topic: str, value: bytes, key: bytes | None = None,
                headers: dict[str, str | bytes | None] | None = None, timestamp_ms: int = 0) -> None: ...

    def flush(self, timeout: float = 30.0) -> None: ...


@dataclass(frozen=True)
class Undecodable:
    message: RawMessage
    error: str
    reason: str = "malformed"


@dataclass(frozen=True)
class DeadLetters:
    """The dead letters of one batch."""

    undecodable: Sequence[Undecodable] = ()
    rows: pa.Table | None = None  # rejected rows, in the writer's row schema plus their status

    def __bool__(self) -> bool:
        return bool(self.undecodable) or (self.rows is not None and self.rows.num_rows > 0)


def encode_rows(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return bytes(sink.getvalue().to_pybytes())


def row_messages(rows: pa.Table, max_bytes: int) -> Iterator[bytes]:
    """`rows` as Arrow IPC streams of at most `max_bytes` each, in row order. Slices are sized from the
    table's bytes per row and halved when one still encodes too large; a single row larger than the limit
    is yielded as it is (the caller truncates it)."""
    for _, encoded in row_parts(rows, max_bytes):
        yield encoded


def row_parts(rows: pa.Table, max_bytes: int) -> Iterator[tuple[pa.Table, bytes]]:
    """`row_messages` with the rows of each message."""
    if rows.num_rows == 0:
        return
    overhead = len(encode_rows(rows.slice(0, 0)))
    per_row = max(1.0, rows.nbytes / rows.num_rows)
    step = max(1, int(0.9 * max(max_bytes - overhead, 1) / per_row))
    pending = [rows.slice(start, step) for start in range(0, rows.num_rows, step)]
    pending.reverse()
    while pending:
        part = pending.pop()
        encoded = encode_rows(part)
        if len(encoded) <= max_bytes or part.num_rows == 1:
            yield part, encoded
            continue
        half = part.num_rows // 2
        pending.append(part.slice(half))
        pending.append(part.slice(0, half))


def fit(value: bytes, max_bytes: int) -> tuple[bytes, dict[str, str | bytes | None]]:
    """`value` cut to `max_bytes`, and the headers saying so when it was cut."""
    if len(value) <= max_bytes:
        return value, {}
    return value[:max_bytes], {"truncated": b"1", "original_size": str(len(value)).encode()}


class DeadLetterRouter:
    """Publishes a batch's dead letters to one topic and waits until they are delivered."""

    def __init__(self, producer: Producer, topic: str, max_bytes: int = DEAD_LETTER_MAX_BYTES) -> None:
        if max_bytes < 1024:
            raise ValueError(f"dead-letter max_bytes must be at least 1024, got {max_bytes}")
        self.producer = producer
        self.topic = topic
        self.max_bytes = max_bytes

    def route(self, dead: DeadLetters) -> int:
        """Publish and flush (blocking). Returns the number of messages published."""
        if not dead:
            return 0
        published = 0
        for item in dead.undecodable:
            msg = item.message
            value, headers = fit(msg.value, self.max_bytes)
            self.producer.publish(self.topic, value, key=msg.key, headers={
                "reason": item.reason.encode(),
                "error": item.error.encode()[:_ERROR_CHARS],
                "src": f"{msg.topic}/{msg.partition}/{msg.offset}".encode(),
                **headers,
            })
            published += 1
        counted: dict[str, int] = {}
        for item in dead.undecodable:
            counted[item.reason] = counted.get(item.reason, 0) + 1
        if dead.rows is not None and dead.rows.num_rows:
            parts = list(row_parts(dead.rows, self.max_bytes))
            for index, (part, encoded) in enumerate(parts, 1):
                reasons = _reasons(part)
                for reason, count in reasons.items():
                    counted[reason] = counted.get(reason, 0) + count
                value, headers = fit(encoded, self.max_bytes)
                self.producer.publish(self.topic, value, key=ROWS_KEY, headers={
                    "part": f"{index}/{len(parts)}".encode(), "reason": ",".join(sorted(reasons)).encode(),
                    **headers,
                })
            published += len(parts)
        self.producer.flush()
        for item in dead.undecodable:
            metrics.MESSAGES_MALFORMED.labels(item.message.topic).inc()
        for reason, count in counted.items():
            metrics.DEAD_LETTERS.labels(self.topic, reason).inc(count)
        return published


def _reasons(rows: pa.Table) -> dict[str, int]:
    """Rows per reason (their `status`; `rejected` for rows without one)."""
    if "status" not in rows.column_names:
        return {"rejected": rows.num_rows}
    counts = pc.value_counts(rows.column("status").combine_chunks())
    return {str(c["values"]): int(c["counts"]) for c in counts.to_pylist()}
