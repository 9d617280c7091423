"""The Share event and its two wire forms on the `shares` topic.

* JSON — what an external Stratum server publishes (interoperable form): one share per message (an object),
  a JSON array of shares, or JSON Lines (one object per line).
* Arrow IPC stream carrying one record batch of many shares — the fast path.

Both decode to the same columnar form, a `pyarrow.RecordBatch` with `SHARE_SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from schemas.rows import TS_MAX_MS, TS_MIN_MS
from schemas.untrusted import JSON_ERRORS, ArrowStreamError, encode_stream, read_stream

SHARE_VERSION = 3  # v3 added `gateway`, `region`; v2 added `coin`; v1 and v2 messages are still read
READABLE_VERSIONS = (1, 2, 3)
ARROW_MAGIC = b"\xff\xff\xff\xff"  # Arrow IPC continuation marker: how an Arrow message starts
#: Longest text field of a share, in characters (JSON) or UTF-8 bytes (Arrow). Real values are short (an
#: address is at most 100, a worker 64); a longer one marks a hostile or broken producer, and is not stored.
MAX_TEXT = 256
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]


class DecodeError(ValueError):
    """A message on a share topic that is neither a valid JSON share nor a valid Arrow share batch."""


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """One submitted share, as reported by the Stratum gateway that received it.

    `ts` is milliseconds since the Unix epoch, UTC. `result` is the gateway's verdict: ``accepted`` or a
    reason name from `schemas.reasons.Reason` (stale, low_difficulty, ...). `hardware` is a hint
    (cpu, gpu, asic, or empty) taken from the miner's user agent. `coin` is the coin the miner's address
    belongs to (`schemas.identity.address_coin`: BTC, LTC, DOGE); empty means "derive it from the address".
    `ntime` and `nonce` may be integers or the protocol's 8-digit hex strings (`"504e86b9"`).
    `gateway` and `region` name the Stratum gateway that received the share (a federation peer,
    `STRATUM_GATEWAY_ID`, `STRATUM_REGION`); empty for producers that do not say (v1/v2, external servers).
    """

    ts: int
    algorithm: Text
    miner: Text
    difficulty: float
    worker: Text = ""
    network_difficulty: float = 0.0
    result: Text = "accepted"
    job_id: Text = ""
    extranonce2: Text = ""
    ntime: int | Text = 0
    nonce: int | Text = 0
    ip: Text = ""
    hardware: Text = ""
    coin: Text = ""
    gateway: Text = ""
    region: Text = ""
    v: int = SHARE_VERSION


SHARE_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("algorithm", pa.string(), nullable=False),
        pa.field("miner", pa.string(), nullable=False),
        pa.field("worker", pa.string(), nullable=False),
        pa.field("difficulty", pa.float64(), nullable=False),
        pa.field("network_difficulty", pa.float64(), nullable=False),
        pa.field("result", pa.string(), nullable=False),
        pa.field("job_id", pa.string(), nullable=False),
        pa.field("extranonce2", pa.string(), nullable=False),
        pa.field("ntime", pa.uint32(), nullable=False),
        pa.field("nonce", pa.uint32(), nullable=False),
        pa.field("ip", pa.string(), nullable=False),
        pa.field("hardware", pa.string(), nullable=False),
        pa.field("coin", pa.string(), nullable=False),
        pa.field("gateway", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
    ],
    metadata={b"poolstream.event": b"share", b"poolstream.version": str(SHARE_VERSION).encode()},
)
SHARE_COLUMNS: tuple[str, ...] = tuple(SHARE_SCHEMA.names)
#: The v2 Arrow form (no `gateway`, `region`) and the v1 form (no `coin` either), still accepted from
#: producers built against them; the missing columns decode as "".
SHARE_SCHEMA_V2 = pa.schema([f for f in SHARE_SCHEMA if f.name not in ("gateway", "region")])
SHARE_SCHEMA_V1 = pa.schema([f for f in SHARE_SCHEMA_V2 if f.name != "coin"])
_TEXT_COLUMNS = tuple(f.name for f in SHARE_SCHEMA if pa.types.is_string(f.type))

_json_encoder = msgspec.json.Encoder()
_json_share = msgspec.json.Decoder(Share)
_json_shares = msgspec.json.Decoder(list[Share])


def encode_json(share: Share) -> bytes:
    return _json_encoder.encode(share)


def decode_json(data: bytes) -> list[Share]:
    """Decode one JSON share (an object), several (an array, not empty), or JSON Lines (one object per line)."""
    try:
        if data[:1] == b"[":
            shares = _json_shares.decode(data)
        else:
            shares = [_json_share.decode(data)]
    except JSON_ERRORS as exc:
        lines = _json_lines(data)
        if lines is None:
            raise DecodeError(f"invalid JSON share: {type(exc).__name__}: {str(exc)[:200]}") from None
        shares = lines
    if not shares:
        raise DecodeError("empty JSON array: no shares in the message")
    return _validated(shares)


def _json_lines(data: bytes) -> list[Share] | None:
    """The shares of a JSON Lines message (None if it is not one); raises `DecodeError` naming a bad line."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    if len(lines) < 2 or lines[0].lstrip()[:1] != b"{":
        return None
    shares: list[Share] = []
    for number, line in enumerate(lines, 1):
        try:
            shares.append(_json_share.decode(line))
        except JSON_ERRORS as exc:
            raise DecodeError(f"invalid JSON share on line {number}: {type(exc).__name__}: {str(exc)[:200]}") from None
    return shares


def _validated(shares: list[Share]) -> list[Share]:
    """Version, ts range, ntime/nonce as uint32 (hex strings converted), in place; raises `DecodeError`."""
    for i, share in enumerate(shares):
        if share.v not in READABLE_VERSIONS:
            raise DecodeError(f"unsupported share version {share.v} (this build reads {READABLE_VERSIONS})")
        if not TS_MIN_MS <= share.ts <= TS_MAX_MS:
            raise DecodeError(f"ts {share.ts} out of range (ms since 1970, before 2106)")
        ntime, nonce = share.ntime, share.nonce
        if isinstance(ntime, str) or isinstance(nonce, str):
            shares[i] = share = msgspec.structs.replace(share, ntime=_uint32(ntime, "ntime"),
                                                        nonce=_uint32(nonce, "nonce"))
        elif not (0 <= ntime <= 0xFFFFFFFF and 0 <= nonce <= 0xFFFFFFFF):
            raise DecodeError("ntime and nonce must be uint32 (an integer or 8 hex digits)")
    return shares


_HEX = frozenset("0123456789abcdefABCDEF")


def _uint32(value: int | str, name: str) -> int:
    """An integer, or the Stratum hex string of one (big-endian, as in `mining.submit`), as a uint32."""
    if isinstance(value, str):
        if not 1 <= len(value) <= 8 or not _HEX.issuperset(value):
            raise DecodeError(f"{name} must be an integer or 1-8 hex digits, got {value[:20]!r}")
        return int(value, 16)
    if not 0 <= value <= 0xFFFFFFFF:
        raise DecodeError(f"{name} must be a uint32, got {value}")
    return value


_FIELD_INDEX = {name: i for i, name in enumerate(Share.__struct_fields__)}

#: What Arrow raises for a JSON value msgspec let through but a column cannot hold (e.g. a ts out of range).
CONVERSION_ERRORS = (pa.ArrowException, OverflowError, TypeError, ValueError)


def shares_to_batch(shares: Sequence[Share]) -> pa.RecordBatch:
    """Columnar form of a list of shares, in one pass over the structs (the JSON path's hot loop).
    Raises one of `CONVERSION_ERRORS` if a value does not fit its column."""
    columns = list(zip(*(msgspec.structs.astuple(s) for s in shares), strict=True))
    if not columns:
        return pa.RecordBatch.from_pylist([], schema=SHARE_SCHEMA)
    arrays = [pa.array(columns[_FIELD_INDEX[f.name]], type=f.type) for f in SHARE_SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)


def batch_to_shares(batch: pa.RecordBatch) -> list[Share]:
    """The inverse of `shares_to_batch` (for tests and the JSON relay; slow by design)."""
    rows = batch.to_pylist()
    millis = batch.column("ts").cast(pa.int64()).to_pylist()  # exact: no float seconds in between
    return [Share(**{**row, "ts": ms}) for row, ms in zip(rows, millis, strict=True)]


def encode_arrow(batch: pa.RecordBatch) -> bytes:
    """One Arrow IPC stream holding `batch` (must have `SHARE_SCHEMA`)."""
    return encode_stream(batch, SHARE_SCHEMA)


def decode_arrow(data: bytes) -> pa.RecordBatch:
    """The shares of an Arrow IPC stream (v2 or v1 schema), read by the untrusted-producer rules of
    `schemas.untrusted`. Raises `DecodeError`, also for a stream without shares."""
    try:
        _, schema, batch = read_stream(data, (SHARE_SCHEMA, SHARE_SCHEMA_V2, SHARE_SCHEMA_V1))
    except ArrowStreamError as exc:
        raise DecodeError(f"invalid Arrow share batch: {exc}") from None
    version = (schema.metadata or {}).get(b"poolstream.version", b"1")
    if version not in {str(v).encode() for v in READABLE_VERSIONS}:
        raise DecodeError(f"unsupported share version {version!r} (this build reads {READABLE_VERSIONS})")
    if batch.num_rows == 0:
        raise DecodeError("empty Arrow share batch: no shares in the message")
    for name in _TEXT_COLUMNS:
        if name in batch.schema.names and pc.max(pc.binary_length(batch.column(name))).as_py() > MAX_TEXT:
            raise DecodeError(f"{name} longer than {MAX_TEXT} bytes")
    ts = pc.min_max(batch.column("ts").cast(pa.int64()))
    if ts["min"].as_py() < TS_MIN_MS or ts["max"].as_py() > TS_MAX_MS:
        raise DecodeError(f"ts out of range (ms since 1970, before 2106): {ts['min']}..{ts['max']}")
    if batch.num_columns < len(SHARE_SCHEMA):  # v1 (coin: derived from the address downstream) or v2
        empty = pa.repeat(pa.scalar("", pa.string()), batch.num_rows)
        arrays = [batch.column(f.name) if f.name in batch.schema.names else empty for f in SHARE_SCHEMA]
        return pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)
    return batch.replace_schema_metadata(SHARE_SCHEMA.metadata)


def decode_payload(data: bytes) -> pa.RecordBatch | list[Share]:
    """Decode one message of the `shares` topic: an Arrow batch as a record batch, JSON as share structs
    (callers batch many messages' structs into one columnar conversion). Raises `DecodeError`."""
    if data[:4] == ARROW_MAGIC:
        return decode_arrow(data)
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        return decode_json(stripped)
    raise DecodeError("message is neither JSON nor an Arrow IPC stream")


def decode_message(data: bytes) -> pa.RecordBatch:
    """Decode any message of the `shares` topic into the columnar form; raises `DecodeError`."""
    payload = decode_payload(data)
    if isinstance(payload, pa.RecordBatch):
        return payload
    try:
        return shares_to_batch(payload)
    except CONVERSION_ERRORS as exc:
        raise DecodeError(f"invalid JSON share: {exc}") from None
