"""Dead letters fit the broker's message limit: rejected rows split into parts, oversized raw messages cut."""

from __future__ import annotations

import pyarrow as pa
import pytest
from prometheus_client import REGISTRY

from streams.deadletters import DeadLetterRouter, DeadLetters, Undecodable, encode_rows, row_messages
from tests.unit.streams.fakes import Producer, message

LIMIT = 64 * 1024


def table(n: int, width: int = 100, long_every: int = 0) -> pa.Table:
    """`n` rows; with `long_every`, every such row has a value 50x wider (uneven row sizes)."""
    values = [("x" * width * (50 if long_every and i % long_every == 0 else 1)) + str(i) for i in range(n)]
    return pa.table({"i": pa.array(range(n), type=pa.int64()), "status": values})


@pytest.mark.parametrize("rows", [table(10_000), table(10_000, long_every=97), table(3)])
def test_rows_are_split_into_messages_under_the_limit_in_order(rows: pa.Table) -> None:
    parts = list(row_messages(rows, LIMIT))
    assert all(len(p) <= LIMIT for p in parts)
    decoded = [pa.ipc.open_stream(p).read_all() for p in parts]
    assert [v for t in decoded for v in t.column("i").to_pylist()] == list(range(rows.num_rows))
    if len(encode_rows(rows)) > LIMIT:
        assert len(parts) > 1
    else:
        assert len(parts) == 1


def test_router_numbers_the_parts_and_flushes_once() -> None:
    log: list[str] = []
    producer = Producer(log)
    sent = DeadLetterRouter(producer, "shares.rejected", LIMIT).route(DeadLetters(rows=table(10_000)))
    assert sent == len(producer.published) > 1
    assert [h["part"] for _, _, _, h in producer.published] == [f"{i}/{sent}".encode() for i in range(1, sent + 1)]
    assert {key for _, _, key, _ in producer.published} == {b"rejected-batch"}
    assert log.count("flush") == 1 and log[-1] == "flush"


def test_a_row_larger_than_the_limit_is_cut_and_says_so() -> None:
    producer = Producer([])
    DeadLetterRouter(producer, "shares.rejected", 2048).route(DeadLetters(rows=table(1, width=10_000)))
    (_, value, _, headers), = producer.published
    assert len(value) == 2048 and headers["truncated"] == b"1"
    assert int(headers["original_size"] or b"0") == len(encode_rows(table(1, width=10_000)))  # type: ignore[arg-type]


def test_an_undecodable_message_goes_raw_with_its_reason_and_is_cut_to_the_limit() -> None:
    producer = Producer([])
    small, big = message(7, b"{not json"), message(8, b"\xff" * 5_000)
    before = REGISTRY.get_sample_value("poolstream_messages_malformed_total", {"topic": "shares"}) or 0.0
    router = DeadLetterRouter(producer, "shares.rejected", 1024)
    router.route(DeadLetters([Undecodable(small, "bad json"), Undecodable(big, "e" * 900)]))
    (_, v1, _, h1), (_, v2, _, h2) = producer.published
    assert v1 == b"{not json" and h1 == {"reason": b"malformed", "error": b"bad json", "src": b"shares/0/7"}
    assert v2 == b"\xff" * 1024 and h2["truncated"] == b"1" and h2["original_size"] == b"5000"
    assert h2["error"] == b"e" * 500
    assert REGISTRY.get_sample_value("poolstream_messages_malformed_total", {"topic": "shares"}) == before + 2


def test_nothing_to_route_publishes_nothing_and_a_tiny_limit_is_refused() -> None:
    producer = Producer([])
    assert DeadLetterRouter(producer, "t").route(DeadLetters(rows=table(0))) == 0
    assert producer.published == []
    with pytest.raises(ValueError, match="at least 1024"):
        DeadLetterRouter(producer, "t", 100)


def test_every_dead_letter_has_a_reason_header_and_is_counted_by_reason() -> None:
    producer = Producer([])
    rows = pa.table({"i": [1, 2, 3], "status": ["time_skew", "bad_address", "time_skew"]})

    def count(reason: str) -> float:
        return REGISTRY.get_sample_value("poolstream_dead_letters_total",
                                         {"topic": "x.rejected", "reason": reason}) or 0.0

    before = {r: count(r) for r in ("time_skew", "bad_address", "malformed")}
    DeadLetterRouter(producer, "x.rejected").route(DeadLetters([Undecodable(message(1, b"?"), "bad")], rows))
    assert [h["reason"] for _, _, _, h in producer.published] == [b"malformed", b"bad_address,time_skew"]
    assert {r: count(r) - before[r] for r in before} == {"time_skew": 2, "bad_address": 1, "malformed": 1}
