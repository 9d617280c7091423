"""SharePreparer's steps: rows for every decoded share, rejects with their reason, undecodable messages apart,
the duplicate window across batches, and a batch prepared twice (after a failure) not seeing itself."""

from __future__ import annotations

import time

from kernels.share_checks import DuplicateWindow
from schemas.share import Share, encode_arrow, encode_json, shares_to_batch
from streams.offsets import RawMessage
from streams.prepare import SharePreparer, decode
from streams.settings import StreamSettings

MINER = "bc1q8e877qucahemyvecrn2tys9p9n3sndk5dla4s2"
NOW = int(time.time() * 1000)


def share(nonce: int, **kw: object) -> Share:
    base: dict[str, object] = dict(ts=NOW - 1000, algorithm="sha256d", miner=MINER, worker="rig1", difficulty=2.0,
                                   network_difficulty=1e12, job_id="j1", extranonce2="00000001", ntime=1_700_000_000,
                                   nonce=nonce, ip="127.0.0.1", hardware="asic")
    base.update(kw)
    return Share(**base)  # type: ignore[arg-type]


def raw(offset: int, value: bytes) -> RawMessage:
    return RawMessage(topic="shares", partition=1, offset=offset, timestamp_ms=NOW, value=value)


def preparer() -> SharePreparer:
    return SharePreparer(StreamSettings(), DuplicateWindow(300_000))


def test_rows_rejects_and_undecodable_of_one_batch() -> None:
    arrow = raw(10, encode_arrow(shares_to_batch([share(1), share(2, difficulty=0.0), share(3, miner="short")])))
    json = raw(11, encode_json(share(4, coin="")))
    bad = raw(12, b"{not json")
    prepared = preparer().prepare([decode(arrow), decode(json), decode(bad)], NOW, {"shares": "id-1"})
    rows = prepared.rows.to_pydict()
    assert rows["status"] == ["accepted", "bad_difficulty", "bad_address", "accepted"]
    assert rows["src_offset"] == [10, 10, 10, 11] and set(rows["src_partition"]) == {1}
    assert set(rows["src_topic_id"]) == {"id-1"}
    assert rows["coin"][3] == "BTC"  # derived from the address where the producer left it empty
    assert prepared.accepted == 2 and dict(prepared.by_reason) == {"bad_difficulty": 1, "bad_address": 1}
    assert prepared.rejected.column("status").to_pylist() == ["bad_difficulty", "bad_address"]
    assert [m.offset for m, _ in prepared.malformed] == [12]


def test_duplicates_across_batches_but_not_within_a_retried_batch() -> None:
    p = preparer()
    first = [decode(raw(0, encode_arrow(shares_to_batch([share(1), share(2)]))))]
    assert p.prepare(first, NOW, {}, batch="b0").rows.column("status").to_pylist() == ["accepted", "accepted"]
    # the same batch prepared again (its first attempt failed later on): same verdicts, not duplicates
    assert p.prepare(first, NOW, {}, batch="b0").rows.column("status").to_pylist() == ["accepted", "accepted"]
    second = [decode(raw(1, encode_arrow(shares_to_batch([share(2), share(3), share(3)]))))]
    statuses = p.prepare(second, NOW, {}, batch="b1").rows.column("status").to_pylist()
    assert statuses == ["duplicate", "accepted", "duplicate"]


def test_a_batch_of_undecodable_messages_only() -> None:
    prepared = preparer().prepare([decode(raw(0, b"\x00\x01"))], NOW, {})
    assert prepared.rows.num_rows == 0 and prepared.rejected.num_rows == 0 and len(prepared.malformed) == 1


def test_a_message_without_shares_is_a_dead_letter_and_decode_never_raises() -> None:
    empty, bomb = raw(20, b"[]"), raw(21, b'{"ts": 1, "x": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}")
    decoded = [decode(empty), decode(bomb), decode(raw(22, encode_json(share(9))))]
    assert [d.ok for d in decoded] == [False, False, True]
    prepared = preparer().prepare(decoded, NOW, {})
    assert [(m.offset, "RecursionError" in why or "no shares" in why) for m, why in prepared.malformed] == [
        (20, True), (21, True)]
    assert prepared.rows.column("src_offset").to_pylist() == [22]
