"""Runs a fuzz corpus (`tests.fuzz.corpus`) through the real agents — the `shares`, `blocks` and `telemetry`
agents in one Faust app on the embedded broker, writing to chDB — and checks the contract of issue 7:
no agent fails or dies; every hostile message is in its dead-letter topic exactly once (whole, or as its
rejected rows) with a `reason` header and counted in `poolstream_dead_letters_total`; every good message is
stored exactly once."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import multiprocessing
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import pyarrow as pa
from aiokafka import AIOKafkaConsumer, TopicPartition
from clickhouse_connect.driver.client import Client
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from faust.contrib.asgi import faust_app_running
from prometheus_client import REGISTRY

from bus.admin import topic_id
from bus.config import client_config
from bus.publisher import Publisher, PublisherSettings
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sinks.blocks import BlockWriter
from sinks.shares import ShareWriter
from sinks.telemetry import TelemetryWriter
from streams.app import create_faust_app
from streams.blocks import attach_blocks
from streams.settings import StreamSettings
from streams.shares import ShareIngest, attach
from streams.supervision import AgentBoard, AgentState
from streams.telemetry import attach_telemetry
from tests.conftest import unique
from tests.fuzz.corpus import TOPICS, Corpus, Expect

Where = tuple[str, int, int]  # base topic, partition, offset


@dataclass(frozen=True)
class Landed:
    """A produced message, without its bytes (a million of them would not fit in memory)."""

    kind: str
    expect: Expect
    rows: int
    block_hash: str


@dataclass
class Sent:
    """What was produced, and where each message landed (from the delivery reports)."""

    messages: dict[Where, Landed] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def expected(self, topic: str, expect: Expect) -> int:
        """Events (GOOD, ROWS) or messages (RAW) of `topic` with that outcome."""
        return sum(1 if expect is Expect.RAW else m.rows for (t, _, _), m in self.messages.items()
                   if t == topic and m.expect is expect)


@dataclass(frozen=True)
class Plan:
    """Which corpus to send: `hostile` hostile messages of `Corpus(seed)`, one good one every `good_every`."""

    hostile: int
    seed: int = 1
    good_every: int = 4


@dataclass
class Figures:
    sent: collections.Counter[tuple[str, str]]  # (topic, good|hostile) -> messages
    dead_by_reason: collections.Counter[tuple[str, str]]  # (topic, reason) -> dead letters (messages or rows)
    stored: collections.Counter[str]  # topic -> good events stored
    seconds: float = 0.0  # from the agents' start until everything was stored or dead-lettered
    produce_seconds: float = 0.0
    check_seconds: float = 0.0  # reading the dead-letter topics back and checking

    def report(self) -> str:
        lines = [f"fuzz: {sum(self.sent.values()):,} messages sent, all stored or dead-lettered in "
                 f"{self.seconds:.1f} s (produced in {self.produce_seconds:.1f} s; checked in {self.check_seconds:.1f} s)"]
        for topic in TOPICS:
            lines.append(f"  {topic}: sent {self.sent[(topic, 'hostile')]:,} hostile + {self.sent[(topic, 'good')]:,}"
                         f" good; good events stored {self.stored[topic]:,}")
            reasons = sorted(((r, n) for (t, r), n in self.dead_by_reason.items() if t == topic), key=lambda x: -x[1])
            lines.append("    dead-lettered: " + ", ".join(f"{r} {n:,}" for r, n in reasons))
        return "\n".join(lines)


def produce(bootstrap: str, topics: TopicNames, plan: Plan) -> Sent:
    """Publish the plan's messages (blocking), recording where each one landed."""
    started = time.monotonic()
    sent = Sent()
    producer = Producer(client_config(bootstrap, **{"linger.ms": 5, "compression.type": "lz4",
                                                    "message.max.bytes": 16 * 1024 * 1024,
                                                    "queue.buffering.max.messages": 200_000}))

    def delivered(message: Landed, topic: str, err: object, record: object) -> None:
        if err is not None:
            sent.failed.append(str(err))
            return
        sent.messages[(topic, record.partition(), record.offset())] = message  # type: ignore[attr-defined]

    for m in Corpus(plan.seed, good_every=plan.good_every).messages(plan.hostile):
        landed = Landed(m.kind, m.expect, m.rows, m.block_hash)
        while True:
            try:
                producer.produce(topics.name(m.topic), m.value, key=m.key,
                                 on_delivery=functools.partial(delivered, landed, m.topic))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(120) == 0, "messages not delivered"
    sent.seconds = time.monotonic() - started
    return sent


def _produce_and_send(bootstrap: str, prefix: str, plan: Plan, out: Connection) -> None:
    sent = produce(bootstrap, TopicNames(prefix), plan)
    out.send((sent.failed, sent.seconds, [(w, m.kind, int(m.expect), m.rows, m.block_hash)
                                          for w, m in sent.messages.items()]))
    out.close()


async def produce_elsewhere(bootstrap: str, topics: TopicNames, plan: Plan) -> Sent:
    """`produce` in a child process: making and publishing a million messages would otherwise take the
    agents' interpreter lock (this process runs them)."""
    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=_produce_and_send, args=(bootstrap, topics.prefix, plan, send), daemon=True)
    child.start()
    send.close()
    try:
        failed, seconds, landed = await asyncio.to_thread(receive.recv)
    finally:
        await asyncio.to_thread(child.join, 60)
    return Sent({w: Landed(kind, Expect(expect), rows, block_hash) for w, kind, expect, rows, block_hash in landed},
                failed, seconds)


@dataclass
class Agents:
    board: AgentBoard
    ingest: ShareIngest


@contextlib.asynccontextmanager
async def running_agents(bootstrap: str, topics: TopicNames, clickhouse: Client) -> AsyncIterator[Agents]:
    """The three agents in one Faust app, as `poolstream run` wires them."""
    settings = StreamSettings(bootstrap=bootstrap, app_id=unique("fuzz"), flush_interval_s=0.2)
    app = create_faust_app(settings)
    board = AgentBoard()
    dead_letters = Publisher(PublisherSettings(bootstrap))
    ingest = ShareIngest(settings, topics, ShareWriter(clickhouse), dead_letters, SystemClock(),
                         status=board.add("shares", topics.shares))
    for topic in (topics.shares, topics.telemetry):
        ingest.topic_ids[topic] = await asyncio.to_thread(topic_id, bootstrap, topic)
    await asyncio.to_thread(ingest.restore)
    attach(app, ingest)
    blocks = attach_blocks(app, settings, topics, BlockWriter(clickhouse), dead_letters,
                           status=board.add("blocks", topics.blocks))
    telemetry = attach_telemetry(app, settings, topics, TelemetryWriter(clickhouse), dead_letters, SystemClock(),
                                 status=board.add("telemetry", topics.telemetry), topic_ids=ingest.topic_ids)
    async with faust_app_running(app, stop_timeout=30):
        yield Agents(board, ingest)
    await asyncio.gather(ingest.runtime.stored(), blocks.stored(), telemetry.stored())
    ingest.writer.close()


def dead_letter_metric(topic: str) -> float:
    return sum(s.value for metric in REGISTRY.collect() if metric.name == "poolstream_dead_letters"
               for s in metric.samples if s.name.endswith("_total") and s.labels.get("topic") == topic)


def unhealthy(board: AgentBoard) -> list[str]:
    return [f"{a.name}: {a.state} ({a.reason}, {a.failures} failures)" for a in board.agents()
            if a.state in (AgentState.DEAD, AgentState.FAILING) or a.failures]


@dataclass
class DeadLetters:
    """What the dead-letter topics hold, tallied while read (their bytes are not kept)."""

    raw: collections.Counter[Where] = field(default_factory=collections.Counter)  # whole messages, by source
    rows: collections.Counter[Where] = field(default_factory=collections.Counter)  # rejected rows, by source
    by_reason: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)

    def add(self, base: str, value: bytes | None, headers: dict[str, bytes]) -> None:
        if not headers.get("reason"):
            self.problems.append(f"{base}.rejected: a dead letter without a reason header: {headers}")
        if "src" in headers:  # a whole message
            _, partition, offset = headers["src"].decode().rsplit("/", 2)
            self.raw[(base, int(partition), int(offset))] += 1
            self.by_reason[(base, headers["reason"].decode())] += 1
            return
        rows = pa.ipc.open_stream(value).read_all()
        for p, o, s in zip(*(rows.column(c).to_pylist() for c in ("src_partition", "src_offset", "status")),
                           strict=True):
            self.rows[(base, p, o)] += 1
            self.by_reason[(base, s)] += 1


async def read_dead_letters(bootstrap: str, topics: TopicNames, into: DeadLetters, base: str,
                            idle_s: float = 3.0) -> None:
    """Tally every message of `<base>.rejected` into `into`, until none came for `idle_s`."""
    topic = topics.name(f"{base}.rejected")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=16 * 1024 * 1024,
                                fetch_max_bytes=64 * 1024 * 1024)
    partitions = await asyncio.to_thread(
        lambda: AdminClient(client_config(bootstrap)).list_topics(topic, timeout=10).topics[topic].partitions)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                last = time.monotonic()
                for r in records:
                    into.add(base, r.value, dict(r.headers))
    finally:
        await consumer.stop()


def verify(sent: Sent, topics: TopicNames, clickhouse: Client, dead: DeadLetters) -> Figures:
    """Every check of the contract; returns the figures. Raises AssertionError naming what broke."""
    problems = list(dead.problems)
    raw_dead, row_dead, by_reason = dead.raw, dead.rows, dead.by_reason
    stored_shares = {(p, o): (int(a), int(n)) for p, o, a, n in clickhouse.query(
        "SELECT src_partition, src_offset, countIf(status = 'accepted'), count() FROM shares "
        "GROUP BY src_partition, src_offset").result_rows}
    stored_telemetry = {(p, o): int(n) for p, o, n in clickhouse.query(
        "SELECT src_partition, src_offset, count() FROM telemetry GROUP BY src_partition, src_offset").result_rows}
    stored_blocks = dict(clickhouse.query("SELECT hash, count() FROM blocks GROUP BY hash").result_rows)
    good_hashes = {m.block_hash for (t, _, _), m in sent.messages.items() if t == "blocks" and m.expect is Expect.GOOD}
    if set(stored_blocks) != good_hashes or any(n != 1 for n in stored_blocks.values()):
        problems.append(f"blocks: {len(stored_blocks)} hashes stored, {len(good_hashes)} good events sent")
    stored: collections.Counter[str] = collections.Counter(blocks=sum(stored_blocks.values()))
    for where, m in sent.messages.items():
        topic, partition, offset = where
        rows = (m.rows if m.expect is Expect.ROWS else 0)
        raw = 1 if m.expect is Expect.RAW else 0
        if (raw_dead[where], row_dead[where]) != (raw, rows):
            problems.append(f"{topic} {m.kind!r} at {partition}/{offset}: dead-lettered {raw_dead[where]} raw + "
                            f"{row_dead[where]} rows, expected {raw} + {rows}")
        if topic == "shares":
            got = stored_shares.get((partition, offset), (0, 0))
            want = {Expect.GOOD: (m.rows, m.rows), Expect.ROWS: (0, m.rows), Expect.RAW: (0, 0)}[m.expect]
            if got != want:
                problems.append(f"shares {m.kind!r} at {partition}/{offset}: stored (accepted, all) {got}, want {want}")
            stored["shares"] += got[0]
        elif topic == "telemetry":
            got_rows = stored_telemetry.get((partition, offset), 0)
            if got_rows != (m.rows if m.expect is Expect.GOOD else 0):
                problems.append(f"telemetry {m.kind!r} at {partition}/{offset}: stored {got_rows}, want "
                                f"{m.rows if m.expect is Expect.GOOD else 0}")
            stored["telemetry"] += got_rows
    extra = (set(raw_dead) | set(row_dead)) - set(sent.messages)
    if extra:
        problems.append(f"dead letters of messages never sent: {sorted(extra)[:5]}")
    for base in TOPICS:
        counted = dead_letter_metric(topics.name(f"{base}.rejected"))
        routed = sum(n for (t, _), n in by_reason.items() if t == base)
        if counted != routed:
            problems.append(f"{base}: poolstream_dead_letters_total says {counted:.0f}, the topic holds {routed}")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:30])
    sent_by = collections.Counter((t, "good" if m.expect is Expect.GOOD else "hostile")
                                  for (t, _, _), m in sent.messages.items())
    return Figures(sent_by, by_reason, stored)


async def fuzz(bootstrap: str, topics: TopicNames, clickhouse: Client, plan: Plan, timeout_s: float) -> Figures:
    """Produce the plan's messages while the agents consume them; wait until every good event is stored and
    every dead letter counted; check everything (`verify`)."""
    started = time.monotonic()
    async with running_agents(bootstrap, topics, clickhouse) as agents:
        sent = await produce_elsewhere(bootstrap, topics, plan)
        assert not sent.failed, sent.failed[:3]
        want_dead = {t: sent.expected(t, Expect.RAW) + sent.expected(t, Expect.ROWS) for t in TOPICS}
        want_rows = {t: sent.expected(t, Expect.GOOD) for t in TOPICS}
        queries = {"shares": "SELECT count() FROM shares WHERE status = 'accepted'",
                   "blocks": "SELECT count() FROM blocks", "telemetry": "SELECT count() FROM telemetry"}

        def done() -> bool:
            return all(dead_letter_metric(topics.name(f"{t}.rejected")) >= want_dead[t]
                       and int(clickhouse.command(queries[t])) >= want_rows[t] for t in TOPICS)

        deadline = time.monotonic() + timeout_s
        said = time.monotonic()
        while not await asyncio.to_thread(done):
            assert not unhealthy(agents.board), unhealthy(agents.board)
            assert time.monotonic() < deadline, f"not all processed within {timeout_s:.0f}s"
            if time.monotonic() - said > 30:
                said = time.monotonic()
                dead = sum(dead_letter_metric(topics.name(f"{t}.rejected")) for t in TOPICS)
                print(f"fuzz: {said - started:.0f} s, {dead:,.0f} of {sum(want_dead.values()):,} dead letters counted",
                      file=sys.stderr, flush=True)
            await asyncio.sleep(0.5)
        seconds = time.monotonic() - started
        assert not unhealthy(agents.board), unhealthy(agents.board)
        assert all(a.state is AgentState.RUNNING for a in agents.board.agents())
    checking = time.monotonic()
    dead = DeadLetters()
    await asyncio.gather(*(read_dead_letters(bootstrap, topics, dead, t) for t in TOPICS))
    figures = verify(sent, topics, clickhouse, dead)
    figures.seconds, figures.produce_seconds = seconds, sent.seconds
    figures.check_seconds = time.monotonic() - checking
    return figures
