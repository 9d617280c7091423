"""The telemetry agent on real parts (embedded broker -> Faust -> chDB): valid readings from JSON, JSON arrays
and Arrow batches stored once; invalid readings and undecodable messages in `telemetry.rejected` with their
reason."""

from __future__ import annotations

import asyncio
import time

import pyarrow as pa
from clickhouse_connect.driver.client import Client
from faust.contrib.asgi import faust_app_running

from bus.admin import topic_id
from bus.publisher import Publisher, PublisherSettings
from schemas.clock import SystemClock
from schemas.telemetry import (
    TelemetryFlag,
    TelemetryReading,
    encode_arrow,
    encode_telemetry,
    readings_to_batch,
)
from schemas.telemetry_settings import TelemetrySettings
from schemas.topics import TopicNames
from sinks.telemetry import TelemetryWriter
from streams.app import create_faust_app
from streams.settings import StreamSettings
from streams.supervision import AgentState, AgentStatus
from streams.telemetry import attach_telemetry
from tests.conftest import unique
from tests.integration.pipeline import wait_for
from tests.integration.test_share_pipeline import read_topic

MINER = "bc1qexampleminer0000000000000000000000dddd"


def reading(device: int, **kw: object) -> TelemetryReading:
    base: dict[str, object] = dict(ts=int(time.time() * 1000) - 1_000, miner=MINER, worker="rig1", device_class="ASIC",
                                   device_id=str(device), model="S21", hashrate=2e14, temperature_c=70.5,
                                   fan_rpm=5400.0, power_w=3500.0, hardware_errors=3, uptime_s=86_400)
    base.update(kw)
    return TelemetryReading(**base)  # type: ignore[arg-type]


def test_readings_stored_once_and_invalid_ones_routed(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    pub = Publisher(PublisherSettings(kafka))
    key = MINER.encode()
    pub.publish(topics.telemetry, encode_telemetry(reading(0)), key=key)
    pub.publish(topics.telemetry, b"[" + b",".join(encode_telemetry(reading(d)) for d in (1, 2)) + b"]", key=key)
    pub.publish(topics.telemetry, encode_arrow(readings_to_batch([reading(d, temperature_c=None) for d in (3, 4)])),
                key=key)
    pub.publish(topics.telemetry, encode_telemetry(reading(9, temperature_c=400.0)), key=key)  # out of range
    pub.publish(topics.telemetry, encode_telemetry(reading(9, device_class="FPGA")), key=key)
    pub.publish(topics.telemetry, b'{"ts": "yesterday"}', key=key)
    pub.flush()

    async def scenario() -> None:
        settings = StreamSettings(bootstrap=kafka, app_id=unique("g"), flush_interval_s=0.2)
        app = create_faust_app(settings)
        ids = {topics.telemetry: await asyncio.to_thread(topic_id, kafka, topics.telemetry)}
        status = AgentStatus("telemetry", topics.telemetry)
        runtime = attach_telemetry(app, settings, topics, TelemetryWriter(clickhouse), Publisher(PublisherSettings(kafka)),
                                   SystemClock(), status=status, topic_ids=ids)
        async with faust_app_running(app, stop_timeout=30):
            await wait_for(lambda: int(clickhouse.command("SELECT count() FROM telemetry")) == 5, what="readings")
        await runtime.stored()
        assert status.state is AgentState.STOPPED and status.failures == 0

    asyncio.run(scenario())
    rows = clickhouse.query("SELECT device_id, temperature_c, hardware_errors, power_w FROM telemetry "
                            "ORDER BY device_id").result_rows
    assert rows == [("0", 70.5, 3, 3500.0), ("1", 70.5, 3, 3500.0), ("2", 70.5, 3, 3500.0),
                    ("3", None, 3, 3500.0), ("4", None, 3, 3500.0)]
    dead = read_topic(kafka, topics.telemetry_rejected)
    assert {r for _, h in dead for r in h["reason"].split(b",")} == {b"bad_device_class", b"malformed", b"out_of_range"}
    statuses = [pa.ipc.open_stream(v).read_all().column("status").to_pylist() for v, h in dead if "part" in h]
    assert sorted(s for part in statuses for s in part) == ["bad_device_class", "out_of_range"]


def test_history_checks_reject_and_flag_on_the_real_agent(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    """Per device, in ts order: a counter going back without a reboot is rejected, a reboot, a stuck sensor and a
    spike are stored with their flag; a value no device of its class reports is rejected."""
    now = int(time.time() * 1000)
    pub = Publisher(PublisherSettings(kafka))
    key = MINER.encode()

    def at(seconds_ago: float, device: str, **kw: object) -> TelemetryReading:
        fields: dict[str, object] = {"temperature_c": None, "fan_rpm": None, **kw}  # only the sensors under test
        return reading(0, ts=now - int(seconds_ago * 1000), device_id=device, **fields)

    history = [
        at(300, "errs", hardware_errors=50, uptime_s=1_000), at(200, "errs", hardware_errors=40, uptime_s=1_100),
        at(300, "boot", hardware_errors=50, uptime_s=1_000), at(200, "boot", hardware_errors=2, uptime_s=30),
        *(at(300 - 10 * i, "stuck", temperature_c=70.0) for i in range(20)),
        *(at(300 - 10 * i, "spiky", temperature_c=70.0 + (i % 3)) for i in range(12)), at(150, "spiky", temperature_c=110.0),
        at(100, "class", device_class="GPU", power_w=3_500.0),
    ]
    # the history goes in two messages, the second one first: the agent still takes each device in ts order
    half = len(history) // 2
    pub.publish(topics.telemetry, encode_arrow(readings_to_batch(history[half:])), key=key)
    pub.publish(topics.telemetry, encode_arrow(readings_to_batch(history[:half])), key=key)
    pub.flush()

    async def scenario() -> None:
        settings = StreamSettings(bootstrap=kafka, app_id=unique("g"), flush_interval_s=1.0)
        app = create_faust_app(settings)
        ids = {topics.telemetry: await asyncio.to_thread(topic_id, kafka, topics.telemetry)}
        runtime = attach_telemetry(app, settings, topics, TelemetryWriter(clickhouse), Publisher(PublisherSettings(kafka)),
                                   SystemClock(), topic_ids=ids, checks=TelemetrySettings(stuck_after_s=100, spike_z=8))
        async with faust_app_running(app, stop_timeout=30):
            await wait_for(lambda: int(clickhouse.command("SELECT count() FROM telemetry")) == len(history) - 2,
                           what="readings")
        await runtime.stored()

    asyncio.run(scenario())
    flags = {(d, int(ts)): int(f) for d, ts, f in clickhouse.query(
        "SELECT device_id, toUnixTimestamp64Milli(ts), flags FROM telemetry FINAL").result_rows}
    ago = {(r.device_id, r.ts): (now - r.ts) // 1000 for r in history}
    flagged = sorted((d, ago[(d, ts)], f) for (d, ts), f in flags.items() if f)
    assert flagged == [("boot", 200, TelemetryFlag.COUNTER_RESET), ("spiky", 150, TelemetryFlag.SPIKE),
                       *(("stuck", s, TelemetryFlag.STUCK) for s in range(110, 210, 10))]  # held since 300 s ago
    dead = read_topic(kafka, topics.telemetry_rejected)
    rejected = pa.concat_tables([pa.ipc.open_stream(v).read_all() for v, h in dead if "part" in h])
    assert sorted(zip(rejected.column("device_id").to_pylist(), rejected.column("status").to_pylist(),
                      strict=True)) == [("class", "out_of_class_range"), ("errs", "counter_backwards")]
