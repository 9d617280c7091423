"""Turns a batch of raw `shares` messages into the rows ClickHouse stores and the rejects it routes.

Pure CPU work (decode, numba checks, duplicate window), run in a thread by the agent. No I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from kernels.share_checks import DuplicateWindow, check_shares, share_keys
from schemas.algorithms import ALGORITHM_NAMES
from schemas.reasons import REASON_NAMES, Reason
from schemas.share import DecodeError, decode_message
from sinks.shares import SHARES_ROW_SCHEMA
from streams.columns import lookup_codes, names_column, string_buffers
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
    rows: pa.Table  # every decoded share, status 'accepted' or a reason name (SHARES_ROW_SCHEMA)
    rejected: pa.Table  # the rows whose status is not 'accepted'
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
    """A message and what it decoded to: a share batch, or the reason it could not be decoded."""

    message: RawMessage
    batch: pa.RecordBatch | None
    error: str = ""

    @property
    def rows(self) -> int:
        return self.batch.num_rows if self.batch is not None else 0


def decode(message: RawMessage) -> Decoded:
    try:
        return Decoded(message, decode_message(message.value))
    except DecodeError as exc:
        return Decoded(message, None, str(exc))


class SharePreparer:
    def __init__(self, settings: StreamSettings, dedup: DuplicateWindow) -> None:
        self._settings = settings
        self._dedup = dedup

    def prepare(self, decoded: Sequence[Decoded], now_ms: int, topic_ids: Mapping[str, str]) -> Prepared:
        batches: list[pa.RecordBatch] = []
        partitions: list[np.ndarray] = []
        offsets: list[np.ndarray] = []
        refs: list[np.ndarray] = []
        topics: list[str] = []
        malformed: list[tuple[RawMessage, str]] = []
        ranges: dict[tuple[str, int], tuple[int, int]] = {}
        for item in decoded:
            msg = item.message
            tp = (msg.topic, msg.partition)
            first, last = ranges.get(tp, (msg.offset, msg.offset))
            ranges[tp] = (min(first, msg.offset), max(last, msg.offset))
            batch = item.batch
            if batch is None:
                malformed.append((msg, item.error))
                continue
            n = batch.num_rows
            if n == 0:
                continue
            batches.append(batch)
            partitions.append(np.full(n, msg.partition, dtype=np.uint16))
            offsets.append(np.full(n, msg.offset, dtype=np.uint64))
            refs.append(np.full(n, msg.timestamp_ms or now_ms, dtype=np.int64))
            topics.append(msg.topic)
        if not batches:
            empty = SHARES_ROW_SCHEMA.empty_table()
            return Prepared(rows=empty, rejected=empty, malformed=malformed, ranges=ranges)
        table = pa.Table.from_batches(batches).combine_chunks()
        n = table.num_rows
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        difficulty = table.column("difficulty").to_numpy()
        miner_off, miner_data = string_buffers(table.column("miner"))
        worker_off, worker_data = string_buffers(table.column("worker"))
        job_off, job_data = string_buffers(table.column("job_id"))
        en2_off, en2_data = string_buffers(table.column("extranonce2"))
        ntime = table.column("ntime").to_numpy()
        nonce = table.column("nonce").to_numpy()
        reasons = check_shares(
            ts,
            np.concatenate(refs),
            difficulty,
            lookup_codes(table.column("algorithm"), _algo_code),
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

        topic_codes = np.repeat(
            np.arange(len(topics), dtype=np.uint16), [b.num_rows for b in batches]
        )
        topic_col = pa.DictionaryArray.from_arrays(pa.array(topic_codes), pa.array(topics)).cast(pa.string())
        id_col = pa.DictionaryArray.from_arrays(
            pa.array(topic_codes), pa.array([topic_ids.get(t, "") for t in topics])
        ).cast(pa.string())
        status = names_column(reasons, REASON_NAMES)
        rows = pa.Table.from_arrays(
            [
                table.column("ts"),
                table.column("algorithm"),
                table.column("miner"),
                table.column("worker"),
                table.column("difficulty"),
                table.column("network_difficulty"),
                status,
                table.column("job_id"),
                table.column("extranonce2"),
                table.column("ntime"),
                table.column("nonce"),
                table.column("ip"),
                table.column("hardware"),
                pa.array(keys, type=pa.uint64()),
                topic_col,
                id_col,
                pa.array(np.concatenate(partitions), type=pa.uint16()),
                pa.array(np.concatenate(offsets), type=pa.uint64()),
                pa.array(np.full(n, now_ms, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            ],
            schema=SHARES_ROW_SCHEMA,
        )
        bad = reasons != 0
        accepted = int(n - np.count_nonzero(bad))
        rejected = rows.filter(pa.array(bad)) if accepted < n else SHARES_ROW_SCHEMA.empty_table()
        by_reason: Counter[str] = Counter()
        if accepted < n:
            counts = np.bincount(reasons[bad], minlength=len(REASON_NAMES))
            by_reason = Counter({REASON_NAMES[i]: int(c) for i, c in enumerate(counts) if c})
        return Prepared(rows=rows, rejected=rejected, malformed=malformed, ranges=ranges, accepted=accepted,
                        by_reason=by_reason)
