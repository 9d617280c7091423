"""The fuzz corpus, offline (no broker, no ClickHouse): deterministic for a seed, every kind drawn, and each
message's label agrees with what the agents' decode and check steps do with it."""

from __future__ import annotations

import collections

from kernels.share_checks import DuplicateWindow
from schemas.clock import SystemClock
from streams.blocks import BlockIngest
from streams.offsets import OffsetRanges, RawMessage
from streams.prepare import SharePreparer
from streams.prepare import decode as decode_share
from streams.settings import StreamSettings
from streams.telemetry import TelemetryIngest
from tests.fuzz.corpus import Corpus, Expect, FuzzMessage

NOW = 1_800_000_000_000


def fixed_now() -> int:
    return NOW


def raw(m: FuzzMessage, offset: int) -> RawMessage:
    return RawMessage(m.topic, 0, offset, NOW, m.value or b"")


def test_same_seed_same_messages() -> None:
    a = [(m.topic, m.kind, m.value) for m in Corpus(3, fixed_now).messages(600)]
    b = [(m.topic, m.kind, m.value) for m in Corpus(3, fixed_now).messages(600)]
    assert a == b and len(a) == 600 + 150  # one good message after every 4 hostile ones
    assert a != [(m.topic, m.kind, m.value) for m in Corpus(4, fixed_now).messages(600)]


def test_every_label_is_what_the_agents_do() -> None:
    messages = list(Corpus(11, fixed_now, good_every=4).messages(3_000))
    kinds = collections.Counter((m.topic, m.kind) for m in messages)
    assert sum(1 for m in messages if len(m.value or b"") > 10_000_000) == 3  # one ~10 MB message per topic
    assert len(kinds) > 80 and all(m.expect is not Expect.GOOD or m.rows > 0 for m in messages)

    settings = StreamSettings()
    shares = SharePreparer(settings, DuplicateWindow(300_000))
    telemetry = TelemetryIngest(settings, None, SystemClock())  # type: ignore[arg-type]
    blocks = BlockIngest(None)  # type: ignore[arg-type]
    wrong = []
    for offset, m in enumerate(messages):
        message = raw(m, offset)
        if m.topic == "shares":
            prepared = shares.prepare([decode_share(message)], NOW, {}, batch=str(offset))
            statuses = prepared.rows.column("status").to_pylist()
            got = (Expect.RAW, 0) if prepared.malformed else (
                (Expect.GOOD, len(statuses)) if set(statuses) == {"accepted"} else
                (Expect.ROWS, len(statuses)) if "accepted" not in statuses else ("mixed", 0))
        elif m.topic == "telemetry":
            batch = telemetry.prepare(telemetry.decode([message]), OffsetRanges.of([message]))
            got = (Expect.RAW, 0) if batch.undecodable else (
                (Expect.GOOD, batch.rows.num_rows) if not batch.rejected.num_rows else
                (Expect.ROWS, batch.rejected.num_rows) if not batch.rows.num_rows else ("mixed", 0))
        else:
            (event,) = blocks.decode([message])
            got = (Expect.RAW, 0) if event.block is None else (Expect.GOOD, 1)
        if got != (m.expect, m.rows if m.expect is not Expect.RAW else 0):
            wrong.append((m.topic, m.kind, got))
    assert not wrong, wrong[:10]
