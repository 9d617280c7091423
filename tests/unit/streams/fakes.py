"""Fakes for the agent runtime: a source of takes, a handler, a producer, a clock. One shared `log` records
every effect in the order it happened."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from streams.deadletters import DeadLetterRouter, DeadLetters, Undecodable
from streams.offsets import OffsetRanges, RawMessage, Watermarks
from streams.runtime import AgentRuntime, BatchLimits, Take
from streams.supervision import AgentStatus, Backoff

TOPIC = "shares"


def message(offset: int, value: bytes = b"ok", partition: int = 0) -> RawMessage:
    return RawMessage(topic=TOPIC, partition=partition, offset=offset, timestamp_ms=0, value=value)


def messages(*offsets: int) -> list[RawMessage]:
    return [message(o) for o in offsets]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Source:
    """Yields the given takes (advancing the clock by `gaps[i]` before take i), then ends (a stop)."""

    def __init__(self, takes: Sequence[Sequence[RawMessage]], log: list[str], clock: Clock | None = None,
                 gaps: Sequence[float] = ()) -> None:
        self._takes = [Take(list(t)) for t in takes]
        self._log = log
        self._clock = clock
        self._gaps = list(gaps)
        self.acked: list[int] = []

    async def takes(self) -> AsyncIterator[Take]:
        for index, take in enumerate(self._takes):
            if self._clock is not None and index < len(self._gaps):
                self._clock.now += self._gaps[index]
            yield take

    async def ack(self, take: Take) -> None:
        offsets = [m.offset for m in take.messages()]
        self.acked.extend(offsets)
        self._log.append(f"ack {offsets}")


@dataclass(frozen=True)
class Item:
    message: RawMessage
    rows: int


@dataclass
class Plan:
    offsets: list[int]
    dead: DeadLetters


@dataclass
class Handler:
    """Messages with value b"bad" are undecodable; every other message is `rows_per_message` rows.
    `fail[step]` failures are raised by that step before it succeeds; `block_write` holds writes."""

    log: list[str]
    rows_per_message: int = 1
    fail: dict[str, int] = field(default_factory=dict)
    block_write: threading.Event | None = None
    written: list[list[int]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def _maybe_fail(self, step: str) -> None:
        if self.fail.get(step, 0) > 0:
            self.fail[step] -= 1
            raise RuntimeError(f"{step} broke")

    def decode(self, messages: Sequence[RawMessage]) -> list[Item]:
        self._maybe_fail("decode")
        return [Item(m, 0 if m.value == b"bad" else self.rows_per_message) for m in messages]

    def rows(self, item: Item) -> int:
        return item.rows

    def prepare(self, items: Sequence[Item], ranges: OffsetRanges) -> Plan:
        self._maybe_fail("checks")
        offsets = [i.message.offset for i in items]
        self.log.append(f"prepare {offsets}")
        bad = [Undecodable(i.message, "undecodable") for i in items if i.message.value == b"bad"]
        return Plan([i.message.offset for i in items if i.message.value != b"bad"], DeadLetters(bad))

    def rejects(self, prepared: Plan) -> DeadLetters:
        return prepared.dead

    def write(self, prepared: Plan, ranges: OffsetRanges) -> None:
        self.log.append(f"write {prepared.offsets}")
        if self.block_write is not None:
            assert self.block_write.wait(5), "write never released"
        self._maybe_fail("write")
        self.written.append(prepared.offsets)
        self.tokens.append(ranges.token("t"))
        self.log.append(f"written {prepared.offsets}")


class Producer:
    def __init__(self, log: list[str], fail_flushes: int = 0) -> None:
        self.log = log
        self.published: list[tuple[str, bytes, bytes | None, dict[str, str | bytes | None]]] = []
        self.fail_flushes = fail_flushes

    def publish(self, topic: str, value: bytes, key: bytes | None = None,
                headers: dict[str, str | bytes | None] | None = None, timestamp_ms: int = 0) -> None:
        self.published.append((topic, value, key, headers or {}))
        self.log.append(f"dead letter {(headers or {}).get('src', b'rows').decode()}")  # type: ignore[union-attr]

    def flush(self, timeout: float = 30.0) -> None:
        if self.fail_flushes:
            self.fail_flushes -= 1
            raise RuntimeError("broker unreachable")
        self.log.append("flush")


@dataclass
class Rig:
    log: list[str]
    clock: Clock
    handler: Handler
    producer: Producer
    status: AgentStatus
    runtime: AgentRuntime[Item, Plan]


LIMITS = BatchLimits(max_messages=3, max_rows=1_000, flush_interval_s=0.5)


def rig(*, limits: BatchLimits = LIMITS,
        watermarks: Callable[[str], dict[int, int]] | None = None, replayed: list[tuple[str, int]] | None = None,
        **handler_options: object) -> Rig:
    log: list[str] = []
    clock = Clock()
    handler = Handler(log, **handler_options)  # type: ignore[arg-type]
    producer = Producer(log)
    status = AgentStatus("test-agent", TOPIC, monotonic=clock.monotonic)
    marks = None
    if watermarks is not None:
        sink = replayed if replayed is not None else []
        marks = Watermarks(watermarks, lambda topic, n: sink.append((topic, n)))
    runtime: AgentRuntime[Item, Plan] = AgentRuntime(
        handler, limits, DeadLetterRouter(producer, "shares.rejected"), status, marks,
        monotonic=clock.monotonic, sleep=clock.sleep, backoff=Backoff(0.1, 0.4),
    )
    return Rig(log, clock, handler, producer, status, runtime)


async def drive(r: Rig, source: Source) -> list[int]:
    """Run the agent until the source ends; the message count of each flushed batch."""
    return [count async for count in r.runtime.run(source)]
