"""Decoding messages from untrusted producers: the rules every topic's decoder shares.

JSON (msgspec): `JSON_ERRORS` is everything decoding can raise for bad input, not only msgspec's own errors:
strings that are not UTF-8 raise UnicodeDecodeError, nesting deeper than the recursion limit (a "JSON
bomb", even inside an ignored unknown field) raises RecursionError. A decoder that let those through would
fail its batch on every retry.

Arrow IPC (`encode_stream` is how our own producers write it): a message may be truncated, carry another schema, be crafted to mislead: `read_stream` returns
its record batch only when it is safe to compute on, and raises `ArrowStreamError` (a ValueError) with the
reason otherwise. In order:

* the schema is read first and must equal one of the expected schemas (field names, types, nullability;
  metadata aside): nothing else of a stream with another schema is decoded;
* record batches only (no dictionary batches, none of which these schemas have), at most `max_batches`;
* no compressed bodies: a buffer compressed with the IPC codecs (LZ4/ZSTD) is allocated at the size it
  claims, so 12 kB of ZSTD can decode to 400 MB (a decompression bomb). Producers compress at the Kafka
  level instead; without IPC compression a batch's buffers are slices of the message, so memory is bounded
  by the message size;
* every batch passes Arrow's full validation (offsets within their buffers and monotonic, UTF-8 strings):
  the kernels read string offsets without bounds checks;
* no nulls in a field the schema declares non-nullable (Arrow does not enforce it on read).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import msgspec
import pyarrow as pa

JSON_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError)
MAX_BATCHES = 1_024  # per message; producers send one

_RECORD_BATCH = 3  # flatbuf MessageHeader union: NONE, Schema, DictionaryBatch, RecordBatch, ...


class ArrowStreamError(ValueError):
    """An Arrow IPC stream that is not safe or not of the expected schema."""


def _table(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(position, vtable position, vtable size) of the flatbuffer table at `pos`."""
    vtable = pos - struct.unpack_from("<i", buf, pos)[0]
    return pos, vtable, struct.unpack_from("<H", buf, vtable)[0]


def _field(buf: bytes, table: tuple[int, int, int], index: int) -> int:
    """Where field `index` of `table` is stored, 0 if absent."""
    pos, vtable, size = table
    entry = 4 + 2 * index
    if entry + 2 > size:
        return 0
    offset = struct.unpack_from("<H", buf, vtable + entry)[0]
    return pos + offset if offset else 0


def _compressed(metadata: bytes) -> bool:
    """Whether a record batch message declares body compression (Message.fbs: Message.header is field 2,
    its type field 1; RecordBatch.compression is field 3). The metadata was verified by Arrow already; a
    reading out of bounds still raises struct.error, which the caller reports."""
    message = _table(metadata, struct.unpack_from("<I", metadata, 0)[0])
    kind_at, header_at = _field(metadata, message, 1), _field(metadata, message, 2)
    if not kind_at or not header_at or metadata[kind_at] != _RECORD_BATCH:
        return False
    batch = _table(metadata, header_at + struct.unpack_from("<I", metadata, header_at)[0])
    return bool(_field(metadata, batch, 3))


def _matching(schema: pa.Schema, expected: Sequence[pa.Schema]) -> int:
    plain = schema.remove_metadata()
    for index, candidate in enumerate(expected):
        if plain.equals(candidate.remove_metadata()):  # names, types and nullability
            return index
    raise ArrowStreamError(f"unexpected schema: {', '.join(f'{f.name}: {f.type}' for f in schema)[:300]}")


def _check(batch: pa.RecordBatch) -> None:
    try:
        batch.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise ArrowStreamError(f"invalid record batch: {exc}") from None
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if not field.nullable and column.null_count:
            raise ArrowStreamError(f"null values in non-nullable column {field.name!r}")


def read_stream(data: bytes, expected: Sequence[pa.Schema],
                max_batches: int = MAX_BATCHES) -> tuple[int, pa.Schema, pa.RecordBatch]:
    """(index of the matching schema in `expected`, the stream's schema with its metadata, its rows as ONE
    record batch, possibly empty). Raises `ArrowStreamError`."""
    try:
        messages = pa.ipc.MessageReader.open_stream(pa.py_buffer(data))
        try:
            first = messages.read_next_message()
        except StopIteration:
            raise ArrowStreamError("empty Arrow IPC stream (no schema)") from None
        if first.type != "schema":
            raise ArrowStreamError(f"stream starts with a {first.type} message, not a schema")
        schema = pa.ipc.read_schema(first)
        index = _matching(schema, expected)
        batches: list[pa.RecordBatch] = []
        for message in messages:
            if message.type != "record batch":
                raise ArrowStreamError(f"unexpected {message.type} message")
            if len(batches) == max_batches:
                raise ArrowStreamError(f"more than {max_batches} record batches")
            if _compressed(message.metadata.to_pybytes()):
                raise ArrowStreamError("compressed IPC body (compress at the Kafka level instead)")
            batch = pa.ipc.read_record_batch(message, schema)
            _check(batch)
            batches.append(batch)
    except ArrowStreamError:
        raise
    except (pa.ArrowException, OSError, struct.error, UnicodeDecodeError) as exc:  # names are UTF-8 too
        raise ArrowStreamError(f"invalid Arrow IPC stream: {type(exc).__name__}: {exc}") from None
    if not batches:
        return index, schema, pa.RecordBatch.from_pylist([], schema=schema)
    if len(batches) == 1:
        return index, schema, batches[0]
    combined = pa.Table.from_batches(batches).combine_chunks().to_batches()
    return index, schema, combined[0] if combined else pa.RecordBatch.from_pylist([], schema=schema)


def encode_stream(batch: pa.RecordBatch, schema: pa.Schema) -> bytes:
    """One Arrow IPC stream holding `batch`, which must have `schema`: how poolstream's own producers write
    what `read_stream` reads."""
    if not batch.schema.equals(schema):
        raise ValueError(f"batch does not have the expected schema ({', '.join(schema.names)})")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())
