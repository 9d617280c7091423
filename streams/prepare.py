"""Turns a batch of raw `shares` messages into the rows ClickHouse stores and the rejects it routes.

Pure CPU work (decode, numba checks, duplicate window), run in a thread by the share agent. No I/O.
`SharePreparer.prepare` in steps: undecodable messages apart (`split_undecodable`) -> record batches in
message order (`_batches`) -> the columns the kernels read (`kernel_columns`) -> checks (`_check`) ->
duplicate window (`_duplicates`, the only state) -> where each row came from (`source_columns`) -> the row
table (`row_table`) -> rejects and counts (`reject_summary`).

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

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from kernels.share_checks import DuplicateWindow, check_shares, share_keys
from schemas.algorithms import ALGORITHM_NAMES, Algorithm
from schemas.identity import address_coin
from schemas.reasons import REASON_NAMES, Reason
from schemas.rows import SHARES_ROW_SCHEMA
from schemas.share import CONVERSION_ERRORS, SHARE_SCHEMA, DecodeError, Share, decode_payload, shares_to_batch
from streams.columns import dictionary_codes, lookup_codes, names_dictionary, string_buffers
from streams.offsets import RawMessage
from streams.settings import StreamSettings
from streams.supervision import describe


@dataclass
class Prepared:
    # every decoded share, status 'accepted' or a reason name: SHARES_ROW_SCHEMA's columns, the
    # low-cardinality ones (algorithm, status, hardware, coin, gateway, region, src_topic, src_topic_id)
    # dictionary-encoded
    rows: pa.Table
    rejected: pa.Table  # the rows whose status is not 'accepted' (SHARES_ROW_SCHEMA exactly)
    malformed: list[tuple[RawMessage, str]] = field(default_factory=list)
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
    """Decode one message (`schemas.share.decode_payload`: JSON shares stay structs until the batch).
    Never raises: whatever the bytes, the message is shares or a reason to dead-letter it."""
    try:
        payload = decode_payload(message.value)
    except DecodeError as exc:
        return Decoded(message, None, str(exc))
    except Exception as exc:  # decoding is a pure function of the bytes: retrying would fail the same way
        return Decoded(message, None, f"undecodable: {describe(exc)}")
    if isinstance(payload, pa.RecordBatch):
        return Decoded(message, payload)
    return Decoded(message, None, shares=payload)


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


def split_undecodable(decoded: Sequence[Decoded]) -> tuple[list[Decoded], list[tuple[RawMessage, str]]]:
    """(the messages with shares, in message order; the undecodable ones with the reason). A message that
    decoded to no share is a dead letter too: nothing is acked without a trace."""
    items = [item for item in decoded if item.ok and item.rows]
    malformed = [(item.message, item.error or "no shares in the message") for item in decoded
                 if not (item.ok and item.rows)]
    return items, malformed


@dataclass(frozen=True)
class KernelColumns:
    """The columns the numba kernels read, as contiguous numpy arrays (strings as offsets + bytes)."""

    ts: npt.NDArray[np.int64]
    difficulty: npt.NDArray[np.float64]
    network_difficulty: npt.NDArray[np.float64]
    algo_codes: npt.NDArray[np.uint8]
    upstream: npt.NDArray[np.uint8]
    miner: tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]
    worker: tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]
    job: tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]
    extranonce2: tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]
    ntime: npt.NDArray[np.uint32]
    nonce: npt.NDArray[np.uint32]
    algorithm: pa.DictionaryArray  # the algorithm column, dictionary-encoded for the INSERT


def kernel_columns(table: pa.Table) -> KernelColumns:
    algo_codes, algorithm = dictionary_codes(table.column("algorithm"), _algo_code)
    return KernelColumns(
        ts=table.column("ts").cast(pa.int64()).to_numpy(),
        difficulty=table.column("difficulty").to_numpy(),
        network_difficulty=table.column("network_difficulty").to_numpy(),
        algo_codes=algo_codes,
        upstream=lookup_codes(table.column("result"), _upstream_code),
        miner=string_buffers(table.column("miner")),
        worker=string_buffers(table.column("worker")),
        job=string_buffers(table.column("job_id")),
        extranonce2=string_buffers(table.column("extranonce2")),
        ntime=table.column("ntime").to_numpy(),
        nonce=table.column("nonce").to_numpy(),
        algorithm=algorithm,
    )


def source_columns(items: Sequence[Decoded], counts: npt.NDArray[np.int64],
                   topic_ids: Mapping[str, str]) -> list[pa.Array]:
    """src_topic, src_topic_id (dictionary-encoded), src_partition, src_offset: the message of each row,
    per message repeated over its rows (no per-row Python)."""
    topic_index: dict[str, int] = {}
    for item in items:
        topic_index.setdefault(item.message.topic, len(topic_index))
    topics = list(topic_index)
    topic_codes = pa.array(
        np.repeat(np.array([topic_index[item.message.topic] for item in items], dtype=np.int32), counts)
    )
    partitions = np.repeat(np.array([item.message.partition for item in items], dtype=np.uint16), counts)
    offsets = np.repeat(np.array([item.message.offset for item in items], dtype=np.uint64), counts)
    return [
        pa.DictionaryArray.from_arrays(topic_codes, pa.array(topics, type=pa.string())),
        pa.DictionaryArray.from_arrays(topic_codes, pa.array([topic_ids.get(t, "") for t in topics],
                                                             type=pa.string())),
        pa.array(partitions, type=pa.uint16()),
        pa.array(offsets, type=pa.uint64()),
    ]


def row_table(table: pa.Table, cols: KernelColumns, reasons: npt.NDArray[np.uint8], keys: npt.NDArray[np.uint64],
              source: list[pa.Array], now_ms: int) -> pa.Table:
    """The `shares` rows (SHARES_ROW_SCHEMA's columns; low-cardinality ones dictionary-encoded)."""
    return pa.Table.from_arrays(
        [
            table.column("ts"),
            cols.algorithm,
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
            pc.dictionary_encode(table.column("gateway")),
            pc.dictionary_encode(table.column("region")),
            pa.array(keys, type=pa.uint64()),
            *source,
            pa.array(np.full(table.num_rows, now_ms, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
        ],
        names=SHARES_ROW_SCHEMA.names,
    )


def reject_summary(rows: pa.Table, reasons: npt.NDArray[np.uint8]) -> tuple[pa.Table, int, Counter[str]]:
    """(the rejected rows in SHARES_ROW_SCHEMA exactly, the number accepted, rejects per reason)."""
    bad = reasons != 0
    accepted = int(len(reasons) - np.count_nonzero(bad))
    if accepted == len(reasons):
        return SHARES_ROW_SCHEMA.empty_table(), accepted, Counter()
    counts = np.bincount(reasons[bad], minlength=len(REASON_NAMES))
    by_reason = Counter({REASON_NAMES[i]: int(c) for i, c in enumerate(counts) if c})
    return rows.filter(pa.array(bad)).cast(SHARES_ROW_SCHEMA), accepted, by_reason


class SharePreparer:
    """Checks share batches: every step columnar, in numba or Arrow (this is the hot path)."""

    def __init__(self, settings: StreamSettings, dedup: DuplicateWindow) -> None:
        self._settings = settings
        self._dedup = dedup
        self._marked: tuple[str, npt.NDArray[np.uint8]] | None = None  # (batch, reasons after the window)

    def prepare(self, decoded: Sequence[Decoded], now_ms: int, topic_ids: Mapping[str, str],
                batch: str = "") -> Prepared:
        """The rows and rejects of one batch. `batch` names it (its dedup token): prepared again after a
        failure, a batch is not checked against its own shares in the duplicate window."""
        items, malformed = split_undecodable(decoded)
        batches = self._batches(items, malformed)
        if not batches:
            empty = SHARES_ROW_SCHEMA.empty_table()
            return Prepared(rows=empty, rejected=empty, malformed=malformed)
        table = pa.Table.from_batches(batches, schema=SHARE_SCHEMA)
        counts = np.array([item.rows for item in items], dtype=np.int64)
        cols = kernel_columns(table)
        published = np.repeat(np.array([item.message.timestamp_ms or now_ms for item in items], dtype=np.int64),
                              counts)
        reasons = self._check(cols, published)
        keys = share_keys(*cols.miner, *cols.worker, *cols.job, *cols.extranonce2, cols.ntime, cols.nonce)
        reasons = self._duplicates(keys, cols.ts, reasons, batch)
        rows = row_table(table, cols, reasons, keys, source_columns(items, counts, topic_ids), now_ms)
        rejected, accepted, by_reason = reject_summary(rows, reasons)
        return Prepared(rows=rows, rejected=rejected, malformed=malformed, accepted=accepted, by_reason=by_reason)

    def _check(self, cols: KernelColumns, published: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        """First failing check per share, 0 when it passes (kernels.share_checks)."""
        return check_shares(cols.ts, published, cols.difficulty, cols.network_difficulty, cols.algo_codes, cols.upstream, *cols.miner,
                            *cols.worker, self._settings.max_past_s * 1000, self._settings.max_future_s * 1000)

    def _duplicates(self, keys: npt.NDArray[np.uint64], ts: npt.NDArray[np.int64], reasons: npt.NDArray[np.uint8],
                    batch: str) -> npt.NDArray[np.uint8]:
        """Mark DUPLICATE (against the window, which then holds this batch too). The window's only writer."""
        if batch and self._marked is not None and self._marked[0] == batch:
            return self._marked[1].copy()
        self._dedup.mark(keys, ts, reasons)
        self._marked = (batch, reasons.copy()) if batch else None
        return reasons

    @staticmethod
    def _batches(items: list[Decoded], malformed: list[tuple[RawMessage, str]]) -> list[pa.RecordBatch]:
        """The items' shares as record batches in message order: Arrow batches as they are, runs of JSON
        messages as slices of one batch built for all of them. A JSON message whose values Arrow refuses
        (e.g. out of range) is moved from `items` to `malformed`."""
        json_shares = [s for item in items if item.batch is None and item.shares is not None for s in item.shares]
        if not json_shares:
            return [item.batch for item in items if item.batch is not None]
        try:
            json_batch = shares_to_batch(json_shares)
        except CONVERSION_ERRORS:
            # rare: find the message(s) at fault, one by one
            own: dict[int, pa.RecordBatch] = {}
            for item in list(items):
                if item.batch is None and item.shares is not None:
                    try:
                        own[id(item)] = shares_to_batch(item.shares)
                    except CONVERSION_ERRORS as exc:
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
