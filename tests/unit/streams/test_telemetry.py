"""The telemetry agent's batch steps on the agent runtime (no broker, no ClickHouse): JSON, JSON arrays and
Arrow batches decode alike; valid readings are written once per batch with a dedup token; invalid ones are
dead letters with their reason; undecodable messages go raw; nothing is acked before the write."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import pyarrow as pa

from schemas.clock import FixedClock
from schemas.rows import TELEMETRY_ROW_SCHEMA
from schemas.telemetry import (
    TelemetryFlag,
    TelemetryReading,
    encode_arrow,
    encode_telemetry,
    readings_to_batch,
)
from streams.deadletters import DeadLetterRouter
from streams.offsets import RawMessage
from streams.runtime import AgentRuntime, BatchLimits
from streams.settings import StreamSettings
from streams.supervision import AgentState, AgentStatus
from streams.telemetry import TelemetryBatch, TelemetryIngest, TelemetryMessage
from tests.unit.streams.fakes import Producer, Source

MINER = "bc1qexampleminer0000000000000000000000aaaa"
CLOCK = FixedClock(dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
NOW = CLOCK.now_ms()


def reading(device: str = "0", **kw: object) -> TelemetryReading:
    base: dict[str, object] = dict(ts=NOW - 1_000, miner=MINER, worker="rig1", device_class="GPU",
                                   device_id=device, temperature_c=65.0, power_w=180.0)
    base.update(kw)
    return TelemetryReading(**base)  # type: ignore[arg-type]


def raw(offset: int, value: bytes, partition: int = 0) -> RawMessage:
    return RawMessage("telemetry", partition, offset, NOW, value)


class Writer:
    def __init__(self) -> None:
        self.writes: list[tuple[pa.Table, str]] = []

    def write(self, rows: pa.Table, token: str) -> None:
        self.writes.append((rows, token))


def run(takes: list[list[RawMessage]]) -> tuple[Writer, Producer, list[str], AgentStatus]:
    log: list[str] = []
    writer, producer = Writer(), Producer(log)
    status = AgentStatus("telemetry-test", "telemetry")
    ingest = TelemetryIngest(StreamSettings(), writer, CLOCK, {"telemetry": "id-7"})  # type: ignore[arg-type]
    runtime: AgentRuntime[TelemetryMessage, TelemetryBatch] = AgentRuntime(
        ingest, BatchLimits(max_messages=100, max_rows=1_000, flush_interval_s=0.5),
        DeadLetterRouter(producer, "telemetry.rejected"), status)

    async def drive() -> None:
        async for _ in runtime.run(Source(takes, log)):
            pass

    asyncio.run(drive())
    return writer, producer, log, status


def test_valid_readings_stored_once_invalid_ones_dead_lettered_with_their_reason() -> None:
    arrow = readings_to_batch([reading("1"), reading("2", temperature_c=math.nan), reading("3", power_w=-5.0)])
    messages = [
        raw(0, encode_telemetry(reading("0"))),
        raw(1, b"[" + encode_telemetry(reading("4")) + b"," + encode_telemetry(reading("5", device_class="TPU")) + b"]"),
        raw(2, encode_arrow(arrow)),
        raw(3, b"\x00garbage"),
        raw(4, encode_telemetry(reading("6", ts=NOW - 10 * 3_600_000))),
        raw(5, encode_telemetry(reading("7", hardware_errors=2**63 - 1))),  # beyond float64's exact integers
    ]
    writer, producer, log, status = run([messages])
    (rows, token), = writer.writes
    assert rows.schema.equals(TELEMETRY_ROW_SCHEMA)
    assert rows.column("device_id").to_pylist() == ["0", "4", "1"]
    assert rows.column("src_offset").to_pylist() == [0, 1, 2]
    assert token.startswith("telemetry:")

    raw_dead = [(v, h) for _, v, _, h in producer.published if "src" in h]
    assert [(h["reason"], h["src"]) for _, h in raw_dead] == [(b"malformed", b"telemetry/0/3")]
    (_, parts, _, headers), = [p for p in producer.published if "part" in p[3]]
    dead = pa.ipc.open_stream(parts).read_all()
    assert dict(zip(dead.column("device_id").to_pylist(), dead.column("status").to_pylist(), strict=True)) == {
        "5": "bad_device_class", "2": "not_finite", "3": "out_of_range", "6": "time_skew", "7": "out_of_range"}
    assert headers["reason"] == b"bad_device_class,not_finite,out_of_range,time_skew"
    # dead letters flushed before the write, the write before the ack
    assert log.index("flush") < log.index("ack [0, 1, 2, 3, 4, 5]")
    assert status.state is AgentState.STOPPED and status.failures == 0


def test_a_batch_of_hostile_messages_only_writes_nothing_and_acks_everything() -> None:
    hostile = [raw(0, b""), raw(1, b"[]"), raw(2, b"[" * 100_000), raw(3, b'{"a":' * 100_000 + b"1" + b"}" * 100_000)]
    writer, producer, log, status = run([hostile])
    assert [rows.num_rows for rows, _ in writer.writes] == [0]
    assert [h["src"] for _, _, _, h in producer.published] == [f"telemetry/0/{i}".encode() for i in range(4)]
    assert log[-1] == "ack [0, 1, 2, 3]" and status.failures == 0


def test_history_across_batches_rejects_a_counter_going_back_and_stores_flagged_readings() -> None:
    first = [raw(0, encode_telemetry(reading("0", ts=NOW - 60_000, hardware_errors=50, uptime_s=1_000))),
             raw(1, encode_telemetry(reading("1", ts=NOW - 60_000, hardware_errors=50, uptime_s=1_000)))]
    second = [raw(2, encode_telemetry(reading("0", ts=NOW - 30_000, hardware_errors=40, uptime_s=1_030))),  # no reboot
              raw(3, encode_telemetry(reading("1", ts=NOW - 30_000, hardware_errors=0, uptime_s=5))),  # a reboot
              raw(4, encode_telemetry(reading("2", device_class="GPU", power_w=3_500.0)))]  # an ASIC's power
    writer, producer, _, status = run([first, second])
    stored = pa.concat_tables([rows for rows, _ in writer.writes])
    assert dict(zip(stored.column("src_offset").to_pylist(), stored.column("flags").to_pylist(), strict=True)) == {
        0: 0, 1: 0, 3: int(TelemetryFlag.COUNTER_RESET)}
    (_, parts, _, _), = [p for p in producer.published if "part" in p[3]]
    dead = pa.ipc.open_stream(parts).read_all()
    assert sorted(zip(dead.column("src_offset").to_pylist(), dead.column("status").to_pylist(), strict=True)) == [
        (2, "counter_backwards"), (4, "out_of_class_range")]
    assert status.failures == 0
