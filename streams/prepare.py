"""Turns a batch of raw `shares` messages into the rows ClickHouse stores and the rejects it routes.

Pure CPU work (decode, numba checks, duplicate window), run in a thread by the agent. No I/O.

Per flushed batch the work is columnar and done once, whatever the number of messages: JSON messages are
parsed one by one (msgspec) but turned into Arrow columns together; Arrow batches are not copied into one
table, only the columns the kernels read are made contiguous; per-row message metadata is built with
`np.repeat`; low-cardinality columns (algorithm, status, hardware, source topic) stay dictionary-encoded for
the INSERT (`Prepared.rejected`, which goes to the dead-letter topic, has plain `SHARES_ROW_SCHEMA` strings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.share_checks import DuplicateWindow, check_shares, share_keys
from schemas.algorithms import ALGORITHM_NAMES, Algorithm
from schemas.identity import address_coin
from schemas.reasons import REASON_NAMES, Reason
from schemas.rows import SHARES_ROW_SCHEMA
from schemas.share import ARROW_MAGIC, SHARE_SCHEMA, DecodeError, Share, decode_arrow, decode_json
from streams.columns import dictionary_codes, lookup_codes, names_dictionary, string_buffers
from streams.settings import StreamSettings


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # when the source published it (Kafka message timestamp)
    value: bytes
    key: bytes | None = None


@dataclass
class Prepared:
    # every decoded share, status 'accepted' or a reason name: SHARES_ROW_SCHEMA's columns, the
    # low-cardinality ones (algorithm, status, hardware, src_topic, src_topic_id) dictionary-encoded
    rows: pa.Table
    rejected: pa.Table  # the rows whose status is not 'accepted' (SHARES_ROW_SCHEMA exactly)
    malformed: list[tuple[RawMessage, str]] = field(default_factory=list)
    ranges: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    accepted: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)


def _algo_code(name: str) -> int:
    return 1 if name in ALGORITHM_NAMES else 0


def _upstream_code(result: str) -> int:
    if result == "accepted":
        return 0
    return int(Reason.from_wire(result)) or int(Reason.INVALID)


@dataclass(frozen=True)
class Decoded:
    """A message and what it decoded to: a share batch (Arrow), shares (JSON; made columns with the rest of
    the flush), or the reason it could not be decoded."""

    message: RawMessage
    batch: pa.RecordBatch | None
    error: str = ""
    shares: Sequence[Share] | None = None

    @property
    def ok(self) -> bool:
        return self.batch is not None or self.shares is not None

    @property
    def rows(self) -> int:
        if self.batch is not None:
            return int(self.batch.num_rows)
        return len(self.shares) if self.shares is not None else 0


def decode(message: RawMessage) -> Decoded:
    """Decode one message (`schemas.share.decode_message`, but JSON shares are left as structs)."""
    data = message.value
    try:
        if data[:4] == ARROW_MAGIC:
            return Decoded(message, decode_arrow(data))
        stripped = data.lstrip()
        if stripped[:1] in (b"{", b"["):
            return Decoded(message, None, shares=decode_json(stripped))
        raise DecodeError("message is neither JSON nor an Arrow IPC stream")
    except DecodeError as exc:
        return Decoded(message, None, str(exc))


_FIELD_INDEX = {name: i for i, name in enumerate(Share.__struct_fields__)}


def shares_batch(shares: Sequence[Share]) -> pa.RecordBatch:
    """`schemas.share.shares_to_batch` in one pass over the structs (the JSON path's hot loop)."""
    columns = list(zip(*(msgspec.structs.astuple(s) for s in shares), strict=True))
    arrays = [pa.array(columns[_FIELD_INDEX[f.name]], type=f.type) for f in SHARE_SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)


def coins(table: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The `coin` column, with the coin of the miner's address (`schemas.identity.address_coin`) where the
    producer left it empty (JSON from external servers, v1 Arrow). Work per distinct (miner, algorithm)."""
    coin = table.column("coin")
    empty = pc.equal(coin, "")
    if not pc.any(empty).as_py():
        return coin
    keys = pc.binary_join_element_wise(table.column("miner"), table.column("algorithm"), "\x00")
    distinct = pc.unique(keys.filter(empty))
    derived = []
    for key in distinct.to_pylist():
        miner, _, algorithm = key.partition("\x00")
        try:
            derived.append(address_coin(miner, Algorithm.parse(algorithm)) or "")
        except ValueError:  # unknown algorithm: the checks reject the share anyway
            derived.append("")
    filled = pc.take(pa.array(derived, type=pa.string()), pc.index_in(keys, value_set=distinct))
    return pc.if_else(empty, filled, coin)


_CONVERSION_ERRORS = (pa.ArrowException, OverflowError, TypeError, ValueError)


class SharePreparer:
    def __init__(self, settings: StreamSettings, dedup: DuplicateWindow) -> None:
        self._settings = settings
        self._dedup = dedup

    def prepare(self, decoded: Sequence[Decoded], now_ms: int, topic_ids: Mapping[str, str]) -> Prepared:
        malformed: list[tuple[RawMessage, str]] = []
        ranges: dict[tuple[str, int], tuple[int, int]] = {}
        items: list[Decoded] = []  # decoded messages with shares, in message order
        for item in decoded:
            msg = item.message
            tp = (msg.topic, msg.partition)
            first, last = ranges.get(tp, (msg.offset, msg.offset))
            ranges[tp] = (min(first, msg.offset), max(last, msg.offset))
            if not item.ok:
                malformed.append((msg, item.error))
            elif item.rows:
                items.append(item)
        batches = self._batches(items, malformed)
        if not batches:
            empty = SHARES_ROW_SCHEMA.empty_table()
            return Prepared(rows=empty, rejected=empty, malformed=malformed, ranges=ranges)
        table = pa.Table.from_batches(batches, schema=SHARE_SCHEMA)
        n = table.num_rows
        counts = np.array([item.rows for item in items], dtype=np.int64)
        topic_index: dict[str, int] = {}
        for item in items:
            topic_index.setdefault(item.message.topic, len(topic_index))
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        difficulty = table.column("difficulty").to_numpy()
        miner_off, miner_data = string_buffers(table.column("miner"))
        worker_off, worker_data = string_buffers(table.column("worker"))
        job_off, job_data = string_buffers(table.column("job_id"))
        en2_off, en2_data = string_buffers(table.column("extranonce2"))
        ntime = table.column("ntime").to_numpy()
        nonce = table.column("nonce").to_numpy()
        algo_codes, algorithm = dictionary_codes(table.column("algorithm"), _algo_code)
        refs = np.repeat(np.array([item.message.timestamp_ms or now_ms for item in items], dtype=np.int64), counts)
        reasons = check_shares(
            ts,
            refs,
            difficulty,
            algo_codes,
            lookup_codes(table.column("result"), _upstream_code),
            miner_off,
            miner_data,
            worker_off,
            worker_data,
            self._settings.max_past_s * 1000,
            self._settings.max_future_s * 1000,
        )
        keys = share_keys(miner_off, miner_data, worker_off, worker_data, job_off, job_data, en2_off, en2_data,
                          ntime, nonce)
        self._dedup.mark(keys, ts, reasons)

        topic_codes = pa.array(
            np.repeat(np.array([topic_index[item.message.topic] for item in items], dtype=np.int32), counts)
        )
        topics = list(topic_index)
        topic_col = pa.DictionaryArray.from_arrays(topic_codes, pa.array(topics, type=pa.string()))
        id_col = pa.DictionaryArray.from_arrays(topic_codes, pa.array([topic_ids.get(t, "") for t in topics],
                                                                      type=pa.string()))
        partitions = np.repeat(np.array([item.message.partition for item in items], dtype=np.uint16), counts)
        offsets = np.repeat(np.array([item.message.offset for item in items], dtype=np.uint64), counts)
        rows = pa.Table.from_arrays(
            [
                table.column("ts"),
                algorithm,
                table.column("miner"),
                table.column("worker"),
                table.column("difficulty"),
                table.column("network_difficulty"),
                names_dictionary(reasons, REASON_NAMES),
                table.column("job_id"),
                table.column("extranonce2"),
                table.column("ntime"),
                table.column("nonce"),
                table.column("ip"),
                pc.dictionary_encode(table.column("hardware")),
                pc.dictionary_encode(coins(table)),
                pa.array(keys, type=pa.uint64()),
                topic_col,
                id_col,
                pa.array(partitions, type=pa.uint16()),
                pa.array(offsets, type=pa.uint64()),
                pa.array(np.full(n, now_ms, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            ],
            names=SHARES_ROW_SCHEMA.names,
        )
        bad = reasons != 0
        accepted = int(n - np.count_nonzero(bad))
        rejected = (
            rows.filter(pa.array(bad)).cast(SHARES_ROW_SCHEMA) if accepted < n else SHARES_ROW_SCHEMA.empty_table()
        )
        by_reason: Counter[str] = Counter()
        if accepted < n:
            counts_by_reason = np.bincount(reasons[bad], minlength=len(REASON_NAMES))
            by_reason = Counter({REASON_NAMES[i]: int(c) for i, c in enumerate(counts_by_reason) if c})
        return Prepared(rows=rows, rejected=rejected, malformed=malformed, ranges=ranges, accepted=accepted,
                        by_reason=by_reason)

    @staticmethod
    def _batches(items: list[Decoded], malformed: list[tuple[RawMessage, str]]) -> list[pa.RecordBatch]:
        """The items' shares as record batches in message order: Arrow batches as they are, runs of JSON
        messages as slices of one batch built for all of them. A JSON message whose values Arrow refuses
        (e.g. out of range) is moved from `items` to `malformed`."""
        json_shares = [s for item in items if item.batch is None and item.shares is not None for s in item.shares]
        if not json_shares:
            return [item.batch for item in items if item.batch is not None]
        try:
            json_batch = shares_batch(json_shares)
        except _CONVERSION_ERRORS:
            # rare: find the message(s) at fault, one by one
            own: dict[int, pa.RecordBatch] = {}
            for item in list(items):
                if item.batch is None and item.shares is not None:
                    try:
                        own[id(item)] = shares_batch(item.shares)
                    except _CONVERSION_ERRORS as exc:
                        items.remove(item)
                        malformed.append((item.message, f"invalid JSON share: {exc}"))
            return [item.batch if item.batch is not None else own[id(item)] for item in items]
        batches: list[pa.RecordBatch] = []
        pos = run = 0
        for item in items:
            if item.batch is not None:
                if run:
                    batches.append(json_batch.slice(pos - run, run))
                    run = 0
                batches.append(item.batch)
            else:
                pos += item.rows
                run += item.rows
        if run:
            batches.append(json_batch.slice(pos - run, run))
        return batches
