"""The share recorder: rows buffered per partition come out as Arrow batches holding exactly the rows
recorded, in order, with the gateway's id and region, keyed by a miner of the group."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.share import SHARE_SCHEMA, batch_to_shares, decode_message
from sources.stratum.events import CHUNK_ROWS, ShareRecorder, ShareRow


class Sink:
    """Stands in for `bus.publisher.Publisher` (a unit test needs no broker)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bytes | None]] = []
        self.polls = 0

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.messages.append((topic, value, key))

    def poll(self, timeout: float) -> None:
        self.polls += 1


def row(i: int, miner: str = "bc1qminer") -> ShareRow:
    return (1_735_689_600_000 + i, "sha256d", miner, f"w{i}", 2.0**-i, 1e12 + i, ("accepted", "stale")[i % 2],
            f"{i:x}", f"{i:08x}", 0x6774_0000 + i, 0xFFFF_FFFF - i, f"10.0.0.{i % 256}", "asic", "BTC")  # fmt: skip


def recorder(sink: Sink, flush_max: int = 1000) -> ShareRecorder:
    return ShareRecorder(sink, "t.shares", 4, flush_max, gateway="gw-1", region="eu-west")  # type: ignore[arg-type]


def published(sink: Sink) -> list[tuple[bytes | None, list[dict[str, Any]]]]:
    out = []
    for topic, value, key in sink.messages:
        assert topic == "t.shares"
        batch = decode_message(value)
        assert batch.schema.equals(SHARE_SCHEMA)
        out.append((key, [{f: getattr(s, f) for f in SHARE_SCHEMA.names} for s in batch_to_shares(batch)]))
    return out


def as_dict(r: ShareRow) -> dict[str, Any]:
    return {**dict(zip(SHARE_SCHEMA.names, r, strict=False)), "gateway": "gw-1", "region": "eu-west"}


def test_each_partition_group_is_one_batch_of_its_rows_in_order() -> None:
    sink = Sink()
    rec = recorder(sink)
    rows = {0: [row(i, "bc1qa") for i in range(0, 6)], 2: [row(i, "bc1qb") for i in range(6, 9)]}
    for bucket in (0, 2, 0, 2, 0):  # interleaved
        r = rows[bucket].pop(0) if rows[bucket] else None
        if r is not None:
            rec.record(bucket, *r)
    for bucket, rest in rows.items():
        for r in rest:
            rec.record(bucket, *r)
    assert sink.messages == []
    rec.flush()
    out = published(sink)
    assert [key for key, _ in out] == [b"bc1qa", b"bc1qb"]
    assert out[0][1] == [as_dict(row(i, "bc1qa")) for i in range(0, 6)]
    assert out[1][1] == [as_dict(row(i, "bc1qb")) for i in range(6, 9)]
    assert rec.published_rows == 9 and rec.published_messages == 2
    rec.flush()  # nothing buffered: no message, the producer is polled
    assert len(sink.messages) == 2 and sink.polls == 1


def test_flush_max_publishes_at_once() -> None:
    sink = Sink()
    rec = recorder(sink, flush_max=3)
    for i in range(7):
        rec.record(1, *row(i))
    assert [len(rows) for _, rows in published(sink)] == [3, 3]
    rec.flush()
    assert [len(rows) for _, rows in published(sink)] == [3, 3, 1]
    assert [r["worker"] for _, rows in published(sink) for r in rows] == [f"w{i}" for i in range(7)]


def test_rows_converted_in_chunks_come_out_as_one_batch() -> None:
    sink = Sink()
    rec = recorder(sink, flush_max=10 * CHUNK_ROWS)
    n = 2 * CHUNK_ROWS + 5  # two chunks converted while recording, the rest at flush
    for i in range(n):
        rec.record(1, *row(i, "bc1qa"))
    rec.record(3, *row(0, "bc1qb"))
    assert sink.messages == []
    rec.flush()
    out = published(sink)
    assert [key for key, _ in out] == [b"bc1qa", b"bc1qb"]
    assert out[0][1] == [as_dict(row(i, "bc1qa")) for i in range(n)]
    assert out[1][1] == [as_dict(row(0, "bc1qb"))]
    rec.record(1, *row(7, "bc1qc"))  # nothing of the previous batch is left behind
    rec.flush()
    assert published(sink)[2] == (b"bc1qc", [as_dict(row(7, "bc1qc"))])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000)), min_size=1, max_size=60))
def test_every_row_recorded_is_published_once_unchanged(recorded: list[tuple[int, int]]) -> None:
    sink = Sink()
    rec = recorder(sink, flush_max=17)
    for bucket, i in recorded:
        rec.record(bucket, *row(i, f"bc1q{bucket}"))
    rec.flush()
    got = [r for _, rows in published(sink) for r in rows]
    assert sorted(got, key=repr) == sorted((as_dict(row(i, f"bc1q{b}")) for b, i in recorded), key=repr)
