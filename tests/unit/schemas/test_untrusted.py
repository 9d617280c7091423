"""Hostile input to the decoders of `shares`, `blocks` and `telemetry`: every bad message is the decoder's
DecodeError with a reason — never another exception (which would fail the batch on every retry), never a
silently empty result — and an Arrow stream is computed on only when safe (`schemas.untrusted`)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pyarrow as pa
import pytest

from schemas import block, share, telemetry
from schemas.untrusted import ArrowStreamError, read_stream

MINER = "bc1qexampleminer0000000000000000000000aaaa"
TS = 1_800_000_000_000


def ipc(schema: pa.Schema, *batches: pa.RecordBatch, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        for b in batches:
            writer.write_batch(b)
    return bytes(sink.getvalue().to_pybytes())


def share_batch(n: int = 3, **columns: pa.Array) -> pa.RecordBatch:
    batch = share.shares_to_batch([share.Share(ts=TS, algorithm="sha256d", miner=MINER, difficulty=1.0)] * n)
    return pa.RecordBatch.from_arrays([columns.get(f.name, batch.column(f.name)) for f in share.SHARE_SCHEMA],
                                      schema=share.SHARE_SCHEMA)


def bad_utf8(column: pa.Array) -> pa.Array:
    validity, offsets, data = column.buffers()
    broken = bytearray(data.to_pybytes())
    broken[0] = 0xFF
    return pa.Array.from_buffers(pa.string(), len(column), [validity, offsets, pa.py_buffer(bytes(broken))])


GOOD_ARROW = ipc(share.SHARE_SCHEMA, share_batch())
SHARE_JSON = b'{"ts": 1800000000000, "algorithm": "sha256d", "miner": "' + MINER.encode() + b'", "difficulty": 1'
NESTED = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000

HOSTILE_SHARES = {
    "empty": b"",
    "garbage": bytes(range(256)),
    "json null": b"null",
    "truncated json": SHARE_JSON,
    "not utf-8": SHARE_JSON.replace(b"sha256d", b"sha\xff256d") + b"}",
    "nested arrays": NESTED,
    "deep unknown field": SHARE_JSON + b', "x": ' + DEEP_OBJECT + b"}",
    "deep array of shares": b"[" + SHARE_JSON + b', "x": ' + NESTED + b"}]",
    "empty array": b"[]",
    "wrong version": SHARE_JSON + b', "v": 99}',
    "ts 2**64": SHARE_JSON.replace(b"1800000000000", str(2**64).encode()) + b"}",
    "ts int64 max": SHARE_JSON.replace(b"1800000000000", str(2**63 - 1).encode()) + b"}",
    "ts negative": SHARE_JSON.replace(b"1800000000000", b"-1") + b"}",
    "infinite difficulty": SHARE_JSON.replace(b'"difficulty": 1', b'"difficulty": 1e999') + b"}",
    "nonce 2**64": SHARE_JSON + b', "nonce": ' + str(2**64).encode() + b"}",
    "10 MB job id": SHARE_JSON + b', "job_id": "' + b"j" * 10_000_000 + b'"}',
    "arrow truncated": GOOD_ARROW[: len(GOOD_ARROW) // 2],
    "arrow magic only": b"\xff\xff\xff\xff",
    "arrow other schema": ipc(pa.schema([("x", pa.int64())]), pa.RecordBatch.from_pydict({"x": [1]})),
    "arrow wrong type": ipc(pa.schema([pa.field(f.name, pa.string() if f.name == "difficulty" else f.type,
                                                nullable=False) for f in share.SHARE_SCHEMA])),
    "arrow wrong version": ipc(share.SHARE_SCHEMA.with_metadata({b"poolstream.version": b"9"}),
                               share_batch().replace_schema_metadata({b"poolstream.version": b"9"})),
    "arrow no rows": ipc(share.SHARE_SCHEMA),
    "arrow not utf-8": ipc(share.SHARE_SCHEMA, share_batch(miner=bad_utf8(share_batch().column("miner")))),
    "arrow zstd bomb": ipc(share.SHARE_SCHEMA, share_batch(), compression="zstd"),
    "arrow null ts": ipc(share.SHARE_SCHEMA, share_batch(
        ts=pa.array([None, TS, TS], type=pa.timestamp("ms", tz="UTC")))),
    "arrow ts out of range": ipc(share.SHARE_SCHEMA, share_batch(
        ts=pa.array([2**62] * 3, type=pa.timestamp("ms", tz="UTC")))),
    "arrow long text": ipc(share.SHARE_SCHEMA, share_batch(job_id=pa.array(["j" * 300] * 3))),
}


@pytest.mark.parametrize("data", HOSTILE_SHARES.values(), ids=HOSTILE_SHARES.keys())
def test_hostile_shares_are_decode_errors(data: bytes) -> None:
    with pytest.raises(share.DecodeError):
        share.decode_message(data)


BLOCK_JSON = (b'{"ts": 1800000000000, "algorithm": "sha256d", "height": 1, "hash": "' + b"ab" * 32
              + b'", "miner": "' + MINER.encode() + b'"')

HOSTILE_BLOCKS = {
    "empty": b"",
    "garbage": bytes(range(256)),
    "array": b"[" + BLOCK_JSON + b"}]",
    "not utf-8": BLOCK_JSON.replace(b"sha256d", b"sha\xfe") + b"}",
    "deep unknown field": BLOCK_JSON + b', "x": ' + DEEP_OBJECT + b"}",
    "nested arrays": NESTED,
    "wrong version": BLOCK_JSON + b', "v": 2}',
    "height 2**64": BLOCK_JSON.replace(b'"height": 1', b'"height": ' + str(2**64).encode()) + b"}",
    "negative reward": BLOCK_JSON + b', "reward": -1}',
    "reward 2**64": BLOCK_JSON + b', "reward": ' + str(2**64).encode() + b"}",
    "float reward": BLOCK_JSON + b', "reward": 1.5}',
    "ts out of range": BLOCK_JSON.replace(b"1800000000000", str(2**63 - 1).encode()) + b"}",
    "huge difficulty": BLOCK_JSON + b', "network_difficulty": 1e308}',
    "unknown status": BLOCK_JSON + b', "status": "maybe"}',
    "bad hash": BLOCK_JSON.replace(b"ab" * 32, b"zz") + b"}",
    "10 MB header": BLOCK_JSON + b', "header_hex": "' + b"00" * 5_000_000 + b'"}',
}


@pytest.mark.parametrize("data", HOSTILE_BLOCKS.values(), ids=HOSTILE_BLOCKS.keys())
def test_hostile_blocks_are_decode_errors(data: bytes) -> None:
    with pytest.raises(block.DecodeError):
        block.decode_block(data)


def test_a_valid_block_still_decodes() -> None:
    decoded = block.decode_block(BLOCK_JSON + b', "reward": 625000000, "status": "confirmed"}')
    assert decoded.reward == 625_000_000 and decoded.status == "confirmed"


READING_JSON = (b'{"ts": 1800000000000, "miner": "' + MINER.encode() + b'", "worker": "rig1", "device_class": "GPU"')


def telemetry_batch(**columns: pa.Array) -> pa.RecordBatch:
    reading = telemetry.TelemetryReading(ts=TS, miner=MINER, worker="rig1", device_class="GPU", power_w=100.0)
    batch = telemetry.readings_to_batch([reading] * 2)
    return pa.RecordBatch.from_arrays([columns.get(f.name, batch.column(f.name)) for f in telemetry.TELEMETRY_SCHEMA],
                                      schema=telemetry.TELEMETRY_SCHEMA)


HOSTILE_TELEMETRY = {
    "empty": b"",
    "garbage": bytes(range(256)),
    "empty array": b"[]",
    "missing field": b'{"ts": 1}',
    "not utf-8": READING_JSON.replace(b"rig1", b"rig\xc0") + b"}",
    "deep unknown field": READING_JSON + b', "x": ' + DEEP_OBJECT + b"}",
    "nested arrays": NESTED,
    "wrong version": READING_JSON + b', "v": 7}',
    "uptime 2**64": READING_JSON + b', "uptime_s": ' + str(2**64).encode() + b"}",
    "ts 2**64": READING_JSON.replace(b"1800000000000", str(2**64).encode()) + b"}",
    "string temperature": READING_JSON + b', "temperature_c": "hot"}',
    "10 MB model": READING_JSON + b', "model": "' + b"m" * 10_000_000 + b'"}',
    "arrow truncated": telemetry.encode_arrow(telemetry_batch())[:200],
    "arrow share schema": GOOD_ARROW,
    "arrow zstd": ipc(telemetry.TELEMETRY_SCHEMA, telemetry_batch(), compression="zstd"),
    "arrow null miner": ipc(telemetry.TELEMETRY_SCHEMA, telemetry_batch(miner=pa.array([MINER, None]))),
    "arrow no version": ipc(telemetry.TELEMETRY_SCHEMA.remove_metadata(), telemetry_batch().replace_schema_metadata()),
}


@pytest.mark.parametrize("data", HOSTILE_TELEMETRY.values(), ids=HOSTILE_TELEMETRY.keys())
def test_hostile_telemetry_is_decode_errors(data: bytes) -> None:
    with pytest.raises(telemetry.DecodeError):
        telemetry.decode_payload(data)


def test_arrow_streams_several_batches_are_one_and_too_many_are_refused() -> None:
    data = ipc(share.SHARE_SCHEMA, share_batch(2), share_batch(3))
    index, _, batch = read_stream(data, (share.SHARE_SCHEMA,))
    assert index == 0 and batch.num_rows == 5
    with pytest.raises(ArrowStreamError, match="more than 1 record batches"):
        read_stream(data, (share.SHARE_SCHEMA,), max_batches=1)


@pytest.mark.parametrize("decoder", [share.decode_message, telemetry.decode_payload],
                         ids=["shares", "telemetry"])
def test_random_corruption_of_an_arrow_message_is_a_decode_error_or_a_valid_batch(
    decoder: Callable[[bytes], pa.RecordBatch],
) -> None:
    good = GOOD_ARROW if decoder is share.decode_message else telemetry.encode_arrow(telemetry_batch())
    rng = random.Random(7)
    errors = (share.DecodeError, telemetry.DecodeError)
    for _ in range(3_000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.choice([len(data), rng.randrange(len(data))])
        try:
            batch = decoder(bytes(data[:cut]))
        except errors:
            continue
        batch.validate(full=True)  # what got through is safe to compute on
        assert batch.num_rows > 0
