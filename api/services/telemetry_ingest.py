"""Rig agents' telemetry batches (`POST /api/v1/telemetry`): each item decoded and checked on its own, the
accepted ones published to the `telemetry` topic as ONE Arrow message, delivered to the broker before the
answer.

Only the stateless checks run here (`kernels.telemetry_checks.check_readings`, with the request's arrival as
publication time); the telemetry agent runs them again with its stateful ones and stores what it accepts
exactly once (`streams.telemetry`). An item is rejected with a reason: `malformed` (not a reading),
`not_your_worker` (a worker token's reading names another miner or worker), `not_your_miner` (a user key
sent a miner none of its participants has), or a `TelemetryReason` wire name. A retried request publishes
again; the `telemetry` table collapses a reading repeated with the same device and ts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from api.envelope import ErrorCode
from api.errors import ApiError, Forbidden, InvalidRequest, Unavailable
from bus.publisher import Publisher, PublishError
from kernels.telemetry_checks import check_readings, class_code_of
from kernels.telemetry_table import reading_arrays
from schemas.identity import valid_address, valid_worker
from schemas.telemetry import (
    DEVICE_CLASSES,
    READABLE_VERSIONS,
    TELEMETRY_REASON_NAMES,
    DecodeError,
    TelemetryReading,
    encode_arrow,
    readings_to_batch,
)

#: Most items one request may carry (a rig agent reports a few devices every ~30 s).
MAX_ITEMS = 1000
MALFORMED, NOT_YOUR_WORKER, NOT_YOUR_MINER = "malformed", "not_your_worker", "not_your_miner"
#: Time bounds of the checks when no intake says (the share agent's defaults, SHARE_MAX_PAST_S/FUTURE_S).
DEFAULT_MAX_PAST_MS, DEFAULT_MAX_FUTURE_MS = 3_600_000, 300_000


class PayloadTooLarge(ApiError):
    """More items than `MAX_ITEMS`: 413, INVALID_REQUEST."""

    status_code = 413
    code = ErrorCode.INVALID_REQUEST


class ItemResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The answer for one item, in request order."""

    index: int
    accepted: bool
    reason: str | None = None  # why it was rejected: malformed, not_your_worker, not_your_miner, bad_address, ...
    message: str | None = None  # details of a malformed item


class TelemetryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int
    rejected: int
    items: list[ItemResult]


@dataclass(frozen=True)
class Sender:
    """Whose readings a request may carry: a worker token's one (miner, worker), or the miners a user key's
    participants have (`miners` None: any, for admins)."""

    miner: str | None = None
    worker: str | None = None
    miners: frozenset[str] | None = None


class TelemetryIntake:
    """Publishes accepted batches to `topic` and waits for the broker's acknowledgement. One request's flush
    at a time (a lock): the publisher's delivery errors then belong to the request that flushes."""

    def __init__(self, publisher: Publisher, topic: str, *, max_past_s: int, max_future_s: int,
                 flush_timeout_s: float = 10.0) -> None:
        self.topic = topic
        self.max_past_ms = max_past_s * 1000
        self.max_future_ms = max_future_s * 1000
        self._publisher = publisher
        self._timeout = flush_timeout_s
        self._lock = asyncio.Lock()

    def _send(self, key: bytes, value: bytes) -> None:
        self._publisher.publish(self.topic, value, key=key)
        self._publisher.flush(self._timeout)

    async def publish(self, key: bytes, value: bytes) -> None:
        """Durable at the broker on return; `Unavailable` (503) if the broker did not take it."""
        async with self._lock:
            try:
                await asyncio.to_thread(self._send, key, value)
            except PublishError as exc:
                raise Unavailable(f"telemetry not published, retry: {exc}", details={"topic": self.topic}) from None

    async def close(self) -> None:
        await asyncio.to_thread(self._publisher.close)


def items_of(body: Any) -> list[Any]:
    """The items of a request body: a JSON array, or an object with a `readings` array."""
    items = body.get("readings") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise InvalidRequest("send a JSON array of readings, or {\"readings\": [...]}", details={"field": "readings"})
    if not items:
        raise InvalidRequest("no readings in the request", details={"field": "readings"})
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(f"at most {MAX_ITEMS} readings per request, got {len(items)}",
                              details={"max_items": MAX_ITEMS, "count": len(items)})
    return items


def decode_item(item: Any, sender: Sender) -> TelemetryReading | ItemResult:
    """One item as a reading (miner/worker filled in from a worker token), or why it is rejected (index 0)."""
    if not isinstance(item, dict):
        return ItemResult(index=0, accepted=False, reason=MALFORMED, message="an item must be a JSON object")
    fields = dict(item)
    if sender.worker is not None:
        fields.setdefault("miner", sender.miner)
        fields.setdefault("worker", sender.worker)
    try:
        reading = msgspec.convert(fields, TelemetryReading)
    except msgspec.ValidationError as exc:
        return ItemResult(index=0, accepted=False, reason=MALFORMED, message=str(exc)[:200])
    if reading.v not in READABLE_VERSIONS:
        return ItemResult(index=0, accepted=False, reason=MALFORMED, message=f"unsupported version {reading.v}")
    if sender.worker is not None and (reading.miner, reading.worker) != (sender.miner, sender.worker):
        return ItemResult(index=0, accepted=False, reason=NOT_YOUR_WORKER,
                          message="a worker token may only report its own worker's readings")
    if sender.miners is not None and reading.miner not in sender.miners:
        return ItemResult(index=0, accepted=False, reason=NOT_YOUR_MINER,
                          message="the miner is none of your participants' addresses")
    return reading


def batch_of(readings: Sequence[TelemetryReading]) -> tuple[pa.RecordBatch, list[int]]:
    """The readings that fit the Arrow columns as one batch, and the positions of those that do not."""
    try:
        return readings_to_batch(readings), []
    except DecodeError:
        fits, bad = [], []
        for i, reading in enumerate(readings):
            try:
                readings_to_batch([reading])
                fits.append(reading)
            except DecodeError:
                bad.append(i)
        return readings_to_batch(fits), bad


def stateless_reasons(batch: pa.RecordBatch, now_ms: int, max_past_ms: int, max_future_ms: int) -> np.ndarray:
    """`check_readings` over a batch decoded here, with `now_ms` as publication time (reason codes)."""
    n = batch.num_rows
    values, present = reading_arrays(batch)

    def codes(name: str, ok: Any) -> np.ndarray:
        return np.array([int(ok(v)) for v in batch.column(name).to_pylist()], dtype=np.uint8)

    reasons: np.ndarray = check_readings(
        batch.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False), np.full(n, now_ms, dtype=np.int64),
        codes("device_class", lambda c: c in DEVICE_CLASSES), codes("miner", valid_address),
        codes("worker", valid_worker), values, present, max_past_ms, max_future_ms,
        class_code=codes("device_class", class_code_of))
    return reasons


def screen(body: Any, sender: Sender, now_ms: int, max_past_ms: int,
           max_future_ms: int) -> tuple[pa.RecordBatch, TelemetryAnswer]:
    """The accepted readings of a request body (in request order) and the per-item answer."""
    results: list[ItemResult | None] = []
    readings: list[TelemetryReading] = []
    where: list[int] = []  # request index of each decoded reading
    for index, item in enumerate(items_of(body)):
        decoded = decode_item(item, sender)
        if isinstance(decoded, ItemResult):
            results.append(msgspec.structs.replace(decoded, index=index))
        else:
            results.append(None)
            readings.append(decoded)
            where.append(index)
    batch, unfit = batch_of(readings)
    for i in unfit:
        results[where[i]] = ItemResult(index=where[i], accepted=False, reason=MALFORMED,
                                       message="a value does not fit its column (integer or ts out of range)")
    unfit_set = set(unfit)
    fitting = [w for i, w in enumerate(where) if i not in unfit_set]
    reasons = stateless_reasons(batch, now_ms, max_past_ms, max_future_ms) if batch.num_rows else np.zeros(0)
    for index, reason in zip(fitting, reasons.tolist(), strict=True):
        results[index] = (ItemResult(index=index, accepted=True) if reason == 0 else
                          ItemResult(index=index, accepted=False, reason=TELEMETRY_REASON_NAMES[reason]))
    accepted = batch.filter(pa.array(reasons == 0)) if batch.num_rows else batch
    final = [r for r in results if r is not None]
    return accepted, TelemetryAnswer(accepted=accepted.num_rows, rejected=len(final) - accepted.num_rows, items=final)


async def ingest(intake: TelemetryIntake | None, body: Any, sender: Sender, now_ms: int) -> TelemetryAnswer:
    """Screen a request body and publish its accepted readings (ONE message, keyed by the first reading's miner,
    delivered before this returns). Without an intake (no broker in this process) a request with readings to
    publish is FORBIDDEN, after the checks (a bad request is a 400 wherever it lands)."""
    past, future = (intake.max_past_ms, intake.max_future_ms) if intake else (DEFAULT_MAX_PAST_MS, DEFAULT_MAX_FUTURE_MS)
    accepted, answer = screen(body, sender, now_ms, past, future)
    if accepted.num_rows and intake is None:
        raise Forbidden("telemetry ingestion is not enabled in this process (no broker)")
    if accepted.num_rows and intake is not None:
        await intake.publish(str(accepted.column("miner")[0].as_py()).encode(), encode_arrow(accepted))
    return answer
