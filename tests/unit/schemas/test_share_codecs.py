"""Share codecs: JSON and Arrow round-trip to the same columnar form; bad input is a DecodeError."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.algorithms import HASHRATE_FACTOR, Algorithm, hashrate
from schemas.block import Block, decode_block, encode_block
from schemas.share import (
    SHARE_SCHEMA,
    SHARE_SCHEMA_V1,
    SHARE_SCHEMA_V2,
    DecodeError,
    Share,
    batch_to_shares,
    decode_message,
    encode_arrow,
    encode_json,
    shares_to_batch,
)
from schemas.telemetry import TelemetryReading, decode_telemetry, encode_telemetry

u32 = st.integers(0, 2**32 - 1)
text = st.text(max_size=40)
shares = st.builds(
    Share,
    ts=st.integers(0, 4_102_444_800_000),
    algorithm=st.sampled_from(["sha256d", "scrypt", "ethash", "nope"]),
    miner=text,
    difficulty=st.floats(allow_nan=False, allow_infinity=False),
    worker=text,
    network_difficulty=st.floats(0, 1e15),
    result=st.sampled_from(["accepted", "stale", "low_difficulty"]),
    job_id=text,
    extranonce2=text,
    ntime=u32,
    nonce=u32,
    ip=text,
    hardware=st.sampled_from(["", "cpu", "gpu", "asic"]),
    coin=st.sampled_from(["", "BTC", "LTC", "DOGE"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(shares, min_size=1, max_size=20))
def test_json_and_arrow_decode_to_the_same_batch(items: list[Share]) -> None:
    arrow = decode_message(encode_arrow(shares_to_batch(items)))
    from_json = [decode_message(encode_json(s)) for s in items]
    assert arrow.schema.equals(SHARE_SCHEMA)
    assert pa.Table.from_batches(from_json).equals(pa.Table.from_batches([arrow]))
    assert batch_to_shares(arrow) == items


def test_json_array_of_shares_is_one_batch() -> None:
    a = Share(ts=1, algorithm="sha256d", miner="m", difficulty=1.0)
    b = Share(ts=2, algorithm="scrypt", miner="n", difficulty=2.0)
    batch = decode_message(b"[" + encode_json(a) + b"," + encode_json(b) + b"]")
    assert batch_to_shares(batch) == [a, b]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"{not json",
        b'{"ts": 1, "algorithm": "sha256d", "miner": "m"}',  # difficulty missing
        b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": null}',
        b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": 1, "v": 4}',
        b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": 1, "nonce": 4294967296}',
        b"\xff\xff\xff\xff\x00\x01broken arrow",
    ],
)
def test_bad_messages_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_message(data)


def test_ntime_and_nonce_as_stratum_hex_strings() -> None:
    """What a Stratum server naturally forwards: `mining.submit`'s 8-digit hex strings."""
    data = (b'{"ts": 1700000000000, "algorithm": "sha256d", "miner": "m", "difficulty": 1, '
            b'"ntime": "504e86b9", "nonce": "0000000A"}')
    (share,) = batch_to_shares(decode_message(data))
    assert (share.ntime, share.nonce) == (0x504E86B9, 10)
    mixed = b'[{"ts": 1, "algorithm": "scrypt", "miner": "m", "difficulty": 1, "ntime": 7, "nonce": "ff"}]'
    assert batch_to_shares(decode_message(mixed))[0].nonce == 255


@pytest.mark.parametrize("bad", [b'"1234567890"', b'"xyz"', b'""', b'"-1"'])
def test_bad_hex_ntime_is_a_decode_error(bad: bytes) -> None:
    with pytest.raises(DecodeError, match="ntime"):
        decode_message(b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": 1, "ntime": ' + bad + b"}")


def test_v1_messages_without_coin_are_still_read() -> None:
    v1 = b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": 1, "v": 1}'
    assert batch_to_shares(decode_message(v1))[0].coin == ""
    batch = shares_to_batch([Share(ts=5, algorithm="scrypt", miner="m", difficulty=2.0, coin="DOGE")])
    old = batch.select([f.name for f in SHARE_SCHEMA_V1]).replace_schema_metadata({b"poolstream.version": b"1"})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, old.schema) as writer:
        writer.write_batch(old)
    decoded = decode_message(sink.getvalue().to_pybytes())
    assert decoded.schema.equals(SHARE_SCHEMA) and decoded.column("coin").to_pylist() == [""]
    assert decoded.column("difficulty").to_pylist() == [2.0]


def test_v2_messages_without_gateway_are_still_read() -> None:
    v2 = b'{"ts": 1, "algorithm": "sha256d", "miner": "m", "difficulty": 1, "coin": "BTC", "v": 2}'
    (share,) = batch_to_shares(decode_message(v2))
    assert (share.coin, share.gateway, share.region) == ("BTC", "", "")
    batch = shares_to_batch([Share(ts=5, algorithm="scrypt", miner="m", difficulty=2.0, coin="DOGE",
                                   gateway="gw-eu", region="eu")])
    assert batch_to_shares(decode_message(encode_arrow(batch)))[0].gateway == "gw-eu"
    old = batch.select([f.name for f in SHARE_SCHEMA_V2]).replace_schema_metadata({b"poolstream.version": b"2"})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, old.schema) as writer:
        writer.write_batch(old)
    decoded = decode_message(sink.getvalue().to_pybytes())
    assert decoded.schema.equals(SHARE_SCHEMA)
    assert decoded.column("coin").to_pylist() == ["DOGE"] and decoded.column("gateway").to_pylist() == [""]


def test_arrow_with_another_schema_is_rejected() -> None:
    other = pa.RecordBatch.from_pydict({"x": [1, 2]})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, other.schema) as writer:
        writer.write_batch(other)
    with pytest.raises(DecodeError, match="unexpected schema"):
        decode_message(sink.getvalue().to_pybytes())


@given(st.builds(Block, ts=st.integers(0, 2**41), algorithm=st.text(max_size=32), height=st.integers(0, 2**40),
                 hash=st.from_regex(r"[0-9a-f]{64}", fullmatch=True), miner=text,
                 reward=st.integers(0, 2**63 - 1)))
def test_block_round_trip_keeps_integer_reward(block: Block) -> None:
    decoded = decode_block(encode_block(block))
    assert decoded == block and isinstance(decoded.reward, int)


@given(st.builds(TelemetryReading, ts=st.integers(0, 2**41), miner=text, worker=text,
                 device_class=st.sampled_from(["CPU", "GPU", "ASIC"]),
                 temperature_c=st.none() | st.floats(-50, 150), power_w=st.none() | st.floats(0, 5000)))
def test_telemetry_round_trip(reading: TelemetryReading) -> None:
    assert decode_telemetry(encode_telemetry(reading)) == reading


def test_hashrate_formula() -> None:
    # DOMAIN.md: H = Σd·F/T; SHA256d F = 2^48/0xFFFF exactly, scrypt 2^16, hash-counting algorithms 1.
    assert HASHRATE_FACTOR[Algorithm.SHA256D] == 2**48 / 0xFFFF
    assert math.isclose(hashrate(600.0, 600.0, Algorithm.SHA256D), 4_295_032_833.000015, rel_tol=1e-12)
    assert hashrate(65536.0, 1.0, Algorithm.SCRYPT) == 65536.0 * 65536.0
    assert hashrate(1e9, 10.0, Algorithm.ETHASH) == 1e8
    assert hashrate(0.0, 10.0, Algorithm.SHA256D) == 0.0
    assert hashrate(5.0, 0.0, Algorithm.SHA256D) == 0.0
