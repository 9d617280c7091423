"""The agent on `telemetry`: validate every reading, store the valid ones once, route the rest with a reason.

Runs on the agent runtime (`streams.runtime`) for as long as the worker runs. Per flushed batch: each
message is decoded (`schemas.telemetry.decode_payload`: a JSON reading, a JSON array, or an Arrow batch);
an undecodable one goes whole to `telemetry.rejected` (raw, headers `reason: malformed`, `error`, `src`).
The readings are checked in one columnar pass (`kernels.telemetry_checks`: identity, time, NaN/inf, physical
and per-class ranges), then per device in ts order against its history (`streams.telemetry_state`: counters
going backwards are rejected, a reboot, a stuck sensor or a spike flags the reading, `flags` column); rejected
ones go to `telemetry.rejected` as Arrow rows with their `status` (the reason) and flushed; the valid ones,
flagged or not, are written in ONE INSERT (`sinks.telemetry`, dedup token from the batch's offset ranges and topic ids); then the
messages are acked. A crash replays from the last commit: the table collapses replays, the dead-letter topic
is at-least-once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import faust
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bus.publisher import Publisher
from kernels.telemetry_checks import NO_CLASS, check_readings, class_code_of
from kernels.telemetry_table import reading_arrays
from schemas.clock import Clock
from schemas.identity import valid_address, valid_worker
from schemas.rows import TELEMETRY_ROW_SCHEMA, TELEMETRY_TABLE
from schemas.telemetry import (
    TELEMETRY_REASON_NAMES,
    TELEMETRY_SCHEMA,
    DecodeError,
    decode_payload,
)
from schemas.telemetry_settings import TelemetrySettings
from schemas.topics import TopicNames
from sinks.telemetry import TelemetryWriter
from streams import metrics
from streams.columns import lookup_codes
from streams.deadletters import DEAD_LETTER_MAX_BYTES, DeadLetterRouter, DeadLetters, Undecodable
from streams.faust_source import register
from streams.offsets import OffsetRanges, RawMessage
from streams.runtime import AgentRuntime, BatchLimits
from streams.settings import StreamSettings
from streams.supervision import AgentStatus, describe
from streams.telemetry_state import DeviceStates

MAX_MESSAGES = 500  # taken at a time
MAX_ROWS = 50_000  # readings per batch


@dataclass(frozen=True)
class TelemetryMessage:
    """A message and its readings, or why it could not be decoded."""

    message: RawMessage
    batch: pa.RecordBatch | None
    error: str = ""


@dataclass(frozen=True)
class TelemetryBatch:
    rows: pa.Table  # the valid readings, TELEMETRY_ROW_SCHEMA
    rejected: pa.Table  # the rejected ones: TELEMETRY_ROW_SCHEMA's columns and `status` (the reason)
    undecodable: list[Undecodable] = field(default_factory=list)


def decode(message: RawMessage) -> TelemetryMessage:
    """Never raises: whatever the bytes, the message is readings or a reason to dead-letter it."""
    try:
        return TelemetryMessage(message, decode_payload(message.value))
    except DecodeError as exc:
        return TelemetryMessage(message, None, str(exc))
    except Exception as exc:  # decoding is a pure function of the bytes: retrying would fail the same way
        return TelemetryMessage(message, None, f"undecodable: {describe(exc)}")


def row_table(readings: pa.Table, messages: Sequence[RawMessage], counts: npt.NDArray[np.int64],
              now_ms: int, flags: npt.NDArray[np.uint16] | None = None) -> pa.Table:
    """Every reading with the message it came from (`counts[i]` readings of `messages[i]`, in order) and its
    flags (default 0), in TELEMETRY_ROW_SCHEMA."""
    return pa.Table.from_arrays(
        [
            *(readings.column(name) for name in TELEMETRY_SCHEMA.names),
            pa.array(np.repeat(np.array([m.topic for m in messages], dtype=object), counts), type=pa.string()),
            pa.array(np.repeat(np.array([m.partition for m in messages], dtype=np.uint16), counts)),
            pa.array(np.repeat(np.array([m.offset for m in messages], dtype=np.uint64), counts)),
            pa.array(np.full(readings.num_rows, now_ms, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            pa.array(flags if flags is not None else np.zeros(readings.num_rows, dtype=np.uint16), type=pa.uint16()),
        ],
        schema=TELEMETRY_ROW_SCHEMA,
    )


class TelemetryIngest:
    """The batch steps of the `telemetry` agent (`streams.runtime.BatchHandler`). `checks` sets the stateful
    checks (TELEMETRY_STUCK_AFTER_S, TELEMETRY_SPIKE_Z; defaults if None)."""

    def __init__(self, settings: StreamSettings, writer: TelemetryWriter, clock: Clock,
                 topic_ids: dict[str, str] | None = None, checks: TelemetrySettings | None = None) -> None:
        self.settings = settings
        self.writer = writer
        self.clock = clock
        self.topic_ids = topic_ids if topic_ids is not None else {}  # topic -> broker id, kept by the runtime
        checks = checks or TelemetrySettings()
        self.devices = DeviceStates(checks.stuck_after_s, checks.spike_z)

    def decode(self, messages: Sequence[RawMessage]) -> list[TelemetryMessage]:
        return [decode(message) for message in messages]

    def rows(self, item: TelemetryMessage) -> int:
        return item.batch.num_rows if item.batch is not None else 0

    def prepare(self, items: Sequence[TelemetryMessage], ranges: OffsetRanges) -> TelemetryBatch:
        undecodable = [Undecodable(item.message, item.error) for item in items if item.batch is None]
        good = [item for item in items if item.batch is not None]
        if not good:
            empty = TELEMETRY_ROW_SCHEMA.empty_table()
            return TelemetryBatch(empty, empty.append_column("status", pa.array([], pa.string())), undecodable)
        now_ms = self.clock.now_ms()
        readings = pa.Table.from_batches([item.batch for item in good if item.batch is not None],
                                         schema=TELEMETRY_SCHEMA)
        counts = np.array([self.rows(item) for item in good], dtype=np.int64)
        published = np.repeat(np.array([item.message.timestamp_ms or now_ms for item in good], dtype=np.int64),
                              counts)
        verdicts = self.devices.check(readings, self._check(readings, published))
        reasons = verdicts.reasons
        rows = row_table(readings, [item.message for item in good], counts, now_ms, verdicts.flags)
        bad = reasons != 0
        status = pa.array(np.array(TELEMETRY_REASON_NAMES, dtype=object)[reasons[bad]], type=pa.string())
        rejected = rows.filter(pa.array(bad)).append_column("status", status)
        prepared = TelemetryBatch(rows.filter(pa.array(~bad)), rejected, undecodable)
        self.devices.commit(verdicts, now_ms)  # last: a batch prepared again after a failure sees the same state
        return prepared

    def _check(self, readings: pa.Table, published: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        values, present = reading_arrays(readings)
        classes = lookup_codes(readings.column("device_class"), class_code_of)
        return check_readings(
            readings.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False), published,
            (classes != NO_CLASS).astype(np.uint8),
            lookup_codes(readings.column("miner"), lambda m: int(valid_address(m))),
            lookup_codes(readings.column("worker"), lambda w: int(valid_worker(w))),
            values, present, self.settings.max_past_s * 1000, self.settings.max_future_s * 1000, classes,
        )

    def rejects(self, prepared: TelemetryBatch) -> DeadLetters:
        return DeadLetters(prepared.undecodable, prepared.rejected)

    def write(self, prepared: TelemetryBatch, ranges: OffsetRanges) -> None:
        """The one INSERT of the batch, durable on return."""
        started = time.perf_counter()
        self.writer.write(prepared.rows, ranges.token(TELEMETRY_TABLE, self.topic_ids))
        metrics.SINK_BATCH_SECONDS.labels(TELEMETRY_TABLE).observe(time.perf_counter() - started)
        metrics.SINK_BATCH_ROWS.labels(TELEMETRY_TABLE).observe(prepared.rows.num_rows)


def attach_telemetry(app: faust.App, settings: StreamSettings, topics: TopicNames, writer: TelemetryWriter,
                     dead_letters: Publisher, clock: Clock, *, status: AgentStatus | None = None,
                     dead_letter_max_bytes: int = DEAD_LETTER_MAX_BYTES, topic_ids: dict[str, str] | None = None,
                     checks: TelemetrySettings | None = None) -> AgentRuntime[TelemetryMessage, TelemetryBatch]:
    """Register the `telemetry` agent on `app`; returns its runtime (for `stored()` at stop). `topic_ids` is
    the composition root's map of topic -> broker id (in the dedup token: a re-created topic's offsets start
    at 0 again and must not look like an INSERT already made); `checks` the stateful checks' settings."""
    runtime: AgentRuntime[TelemetryMessage, TelemetryBatch] = AgentRuntime(
        TelemetryIngest(settings, writer, clock, topic_ids, checks),
        BatchLimits(max_messages=MAX_MESSAGES, max_rows=MAX_ROWS, flush_interval_s=settings.flush_interval_s),
        DeadLetterRouter(dead_letters, topics.telemetry_rejected, dead_letter_max_bytes),
        status or AgentStatus("telemetry", topics.telemetry),
    )
    register(app, f"{settings.app_id}.telemetry", topics.telemetry, settings.partitions, runtime)
    return runtime
