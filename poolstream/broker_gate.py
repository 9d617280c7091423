"""The embedded broker's front door: a Kafka-protocol pass-through on the public port that can hold Produce.

Clients (producers, the agents, admin tools) connect to the public port; every connection is relayed, frame by
frame, to the Tansu process on an internal port (Tansu advertises the public port, so clients never see the
internal one). The relay reads only each request's header — and, for Produce, its `acks` — and counts the
Produce requests the broker has not answered yet.

That lets the broker service make one instant where the broker takes no writes: `ProduceGate.close()` holds
every new Produce request (the connection waits, nothing is refused or dropped) and returns once the broker
answered all the Produce requests it had already received. At that instant the broker's content is final, so
"every consumer group has committed up to the end" is a fact, not a race, and the broker can be recycled
(`poolstream.broker_recycle`) without losing a message. Held requests go on after `open()`; when the recycle
restarts Tansu, the relay closes the client connections and the clients resend to the new broker (a held
request never reached the old one, so nothing is written twice).

Produce with `acks=0` expects no answer: it is held while the gate is closed, but what was sent just before
cannot be confirmed — such producers accept loss by their own setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

PRODUCE = 0
Pending = tuple[int, list[tuple[str, int, int]] | None]  # (correlation id, Produce counts or None)
MAX_FRAME = 256 * 1024 * 1024  # larger than any request a sane client sends; a bigger size is a broken stream


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def produce_acks(body: bytes) -> int:
    """The `acks` of a Produce request frame body (header + request), any version 0–11."""
    _flexible, pos = _to_acks(body)
    return int(struct.unpack_from(">h", body, pos)[0])


def _to_acks(body: bytes) -> tuple[bool, int]:
    """(flexible version?, position of `acks`) in a Produce request frame body."""
    version = struct.unpack_from(">h", body, 2)[0]
    flexible = version >= 9
    pos = 8  # api_key, api_version, correlation_id
    (client_id_len,) = struct.unpack_from(">h", body, pos)
    pos += 2 + max(client_id_len, 0)
    if flexible:  # header tagged fields, then a compact nullable transactional_id
        pos = _skip_tags(body, pos)
    if version >= 3:
        _txn, pos = _string(body, pos, flexible)
    return flexible, pos


def _length(body: bytes, pos: int, flexible: bool, fixed: str = ">i") -> tuple[int, int]:
    """A length or array count: compact (unsigned varint of n + 1) in flexible versions, else `fixed`
    (int16 for strings, int32 for bytes and arrays). -1 is null."""
    if flexible:
        n, pos = _uvarint(body, pos)
        return n - 1, pos
    return int(struct.unpack_from(fixed, body, pos)[0]), pos + struct.calcsize(fixed)


def _string(body: bytes, pos: int, flexible: bool) -> tuple[str, int]:
    length, pos = _length(body, pos, flexible, ">h")
    if length < 0:
        return "", pos
    return body[pos:pos + length].decode(errors="replace"), pos + length


def _skip_tags(body: bytes, pos: int) -> int:
    tags, pos = _uvarint(body, pos)
    for _ in range(tags):
        _tag, pos = _uvarint(body, pos)
        size, pos = _uvarint(body, pos)
        pos += size
    return pos


def batch_records(records: bytes) -> int:
    """Records in a Produce request's record set: the sum of `lastOffsetDelta + 1` of its v2 record batches
    (an old-format message set counts as one)."""
    count = pos = 0
    while pos + 27 <= len(records):
        (length,) = struct.unpack_from(">i", records, pos + 8)
        if records[pos + 16] < 2:  # magic 0/1: a legacy message set
            return max(count, 1)
        (last_delta,) = struct.unpack_from(">i", records, pos + 23)
        count += last_delta + 1
        pos += 12 + length
    return count


def produce_counts(body: bytes) -> list[tuple[str, int, int]]:
    """(topic, partition, records) of a Produce request frame body, any version 0–11."""
    flexible, pos = _to_acks(body)
    pos += 6  # acks, timeout_ms
    out = []
    topics, pos = _length(body, pos, flexible)
    for _ in range(topics):
        topic, pos = _string(body, pos, flexible)
        partitions, pos = _length(body, pos, flexible)
        for _ in range(partitions):
            (partition,) = struct.unpack_from(">i", body, pos)
            size, pos = _length(body, pos + 4, flexible)
            out.append((topic, partition, batch_records(body[pos:pos + max(size, 0)])))
            pos += max(size, 0)
            if flexible:
                pos = _skip_tags(body, pos)
        if flexible:
            pos = _skip_tags(body, pos)
    return out


class ProduceGate:
    """Open: Produce requests pass. Closed: new ones wait. `close()` returns when none is unanswered."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._unanswered = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.held = 0  # requests waiting at the closed gate right now

    async def admit(self, expects_answer: bool) -> None:
        if not self._open.is_set():
            self.held += 1
            try:
                await self._open.wait()
            finally:
                self.held -= 1
        if expects_answer:
            self._unanswered += 1
            self._idle.clear()

    def answered(self) -> None:
        self._unanswered -= 1
        if self._unanswered <= 0:
            self._unanswered = 0
            self._idle.set()

    async def close(self, timeout_s: float) -> bool:
        """Hold new Produce requests; True once the broker answered every earlier one (False on timeout: the
        gate stays closed — call `open()`)."""
        self._open.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()


class KafkaRelay:
    """Relays every client connection of `host:port` to the broker at `upstream()` through `gate`."""

    def __init__(self, host: str, port: int, upstream: Callable[[], tuple[str, int]], gate: ProduceGate) -> None:
        self.host, self.port = host, port
        self._upstream = upstream
        self.gate = gate
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        #: Records the broker acknowledged, per (topic, partition), since `reset_counts()`: a partition's next
        #: offset, exact (Tansu's own end offset counts only a batch's first record). What a crash would lose
        #: is this minus what the consumer groups committed.
        self.acknowledged: dict[tuple[str, int], int] = {}

    def reset_counts(self) -> None:
        """A new broker: its offsets start at 0."""
        self.acknowledged = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.disconnect_all()
        if self._server is not None:
            await self._server.wait_closed()

    async def disconnect_all(self) -> None:
        """Close every client connection (their clients reconnect, to the broker `upstream()` names then)."""
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._relay(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending: deque[Pending] = deque()  # requests awaiting an answer, in order
        up_writer: asyncio.StreamWriter | None = None
        try:
            host, port = self._upstream()
            up_reader, up_writer = await asyncio.open_connection(host, port)
            pumps = [asyncio.create_task(self._requests(reader, up_writer, pending)),
                     asyncio.create_task(self._responses(up_reader, writer, pending))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for _corr, counts in pending:  # the broker will not answer these any more
                if counts is not None:
                    self.gate.answered()
            for w in (writer, up_writer):
                if w is not None:
                    w.close()

    async def _requests(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter,
                        pending: deque[Pending]) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readexactly(4)
                size = int.from_bytes(head, "big", signed=True)
                if not 8 <= size <= MAX_FRAME:
                    log.warning("closing a client connection: a request frame of %d bytes", size)
                    return
                body = await reader.readexactly(size)
                api_key, _version, corr = struct.unpack_from(">hhi", body, 0)
                expects, counts = True, None
                if api_key == PRODUCE:
                    try:
                        expects, counts = produce_acks(body) != 0, produce_counts(body)
                    except (struct.error, IndexError, ValueError):
                        counts = []  # unparsable: let the broker answer (it will refuse it)
                    await self.gate.admit(expects)
                if expects:
                    pending.append((corr, counts))
                up.write(head)
                up.write(body)
                await up.drain()

    async def _responses(self, up: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         pending: deque[Pending]) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                head = await up.readexactly(4)
                size = int.from_bytes(head, "big", signed=True)
                body = await up.readexactly(size)
                corr = int.from_bytes(body[:4], "big", signed=True)
                while pending:
                    expected, counts = pending.popleft()
                    if counts is not None:
                        self.gate.answered()
                        if expected == corr:  # acknowledged (a partition's error would be the client's to see)
                            for topic, partition, records in counts:
                                key = (topic, partition)
                                self.acknowledged[key] = self.acknowledged.get(key, 0) + records
                    if expected == corr:
                        break
                writer.write(head)
                writer.write(body)
                await writer.drain()
