"""POST /api/v1/telemetry on the real app, broker and chDB: a rig agent's readings (worker token, miner and
worker filled in) and a writer's readings go to the `telemetry` topic as one message per request, and the
telemetry agent stores them once; bad items are answered one by one and never stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from faust.contrib.asgi import faust_app_running
from litestar.testing import TestClient

from api import ApiDeps, create_app
from api.services.telemetry_ingest import MAX_ITEMS, TelemetryIntake
from api.settings import ApiSettings, ServedPort
from bus.admin import topic_id
from bus.publisher import Publisher, PublisherSettings
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sinks.telemetry import TelemetryWriter
from streams.app import create_faust_app
from streams.settings import StreamSettings
from streams.telemetry import attach_telemetry
from tests.conftest import unique
from tests.integration.pipeline import wait_for
from tests.integration.test_api_workers import Probe
from tests.integration.test_share_pipeline import read_topic
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

ALICE = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
OTHER = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def store(kafka: str, topics: TopicNames, clickhouse: Client, rows: int) -> None:
    """Run the telemetry agent until `rows` readings are in `telemetry`."""
    async def scenario() -> None:
        settings = StreamSettings(bootstrap=kafka, app_id=unique("g"), flush_interval_s=0.2)
        app = create_faust_app(settings)
        ids = {topics.telemetry: await asyncio.to_thread(topic_id, kafka, topics.telemetry)}
        runtime = attach_telemetry(app, settings, topics, TelemetryWriter(clickhouse), Publisher(PublisherSettings(kafka)),
                                   SystemClock(), topic_ids=ids)
        async with faust_app_running(app, stop_timeout=30):
            await wait_for(lambda: int(str(clickhouse.command("SELECT count() FROM telemetry"))) >= rows,
                           what="readings")
        await runtime.stored()

    asyncio.run(scenario())


@pytest.fixture()
def api(kafka: str, topics: TopicNames, clickhouse: Client) -> Iterator[TestClient[Any]]:
    intake = TelemetryIntake(Publisher(PublisherSettings(kafka, linger_ms=0)), topics.telemetry, max_past_s=3600,
                             max_future_s=300)
    settings = ApiSettings(stratum_ports=(ServedPort("sha256d", 3333, 0.01, 0.0001, 1e12),))
    deps = ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=settings, health=Probe(),
                   telemetry_intake=intake)
    with TestClient(create_app(deps)) as client:
        yield client


def test_readings_in_rows_out_and_bad_items_answered(api: TestClient[Any], kafka: str, topics: TopicNames,
                                                     clickhouse: Client) -> None:
    alice = auth_headers(create_user_key(clickhouse, "write", username="alice"))
    assert api.post("/api/v1/participants", headers=alice, json={"ton_wallet_address": ALICE}).status_code == 201
    worker = api.post("/api/v1/workers", headers=alice, json={"name": "rig1", "hardware_type": "asic"}).json()["data"]
    now = int(time.time() * 1000) - 1_000
    ok = {"ts": now, "device_class": "ASIC", "device_id": "chain0", "hashrate": 1.4e13, "temperature_c": 71.5,
          "fan_rpm": 5400.0, "power_w": 1300.0, "hardware_errors": 2, "uptime_s": 3600}
    items = [ok, {**ok, "device_id": "chain1", "miner": ALICE, "worker": "rig1"},
             {**ok, "device_id": "x", "temperature_c": 400.0},  # out_of_range
             {**ok, "device_id": "y", "worker": "rig2"},  # not this token's worker
             {**ok, "device_id": "z", "ts": "yesterday"},  # malformed
             {**ok, "device_id": "v", "device_class": "FPGA"},
             {**ok, "device_id": "w", "ts": now - 86_400_000},  # time_skew
             "not an object"]
    answer = api.post("/api/v1/telemetry", headers=auth_headers(worker["token"]), json={"readings": items})
    assert answer.status_code == 202, answer.text
    data = answer.json()["data"]
    assert (data["accepted"], data["rejected"]) == (2, 6)
    assert [(i["index"], i["accepted"], i.get("reason")) for i in data["items"]] == [
        (0, True, None), (1, True, None), (2, False, "out_of_range"), (3, False, "not_your_worker"),
        (4, False, "malformed"), (5, False, "bad_device_class"), (6, False, "time_skew"), (7, False, "malformed")]

    # A writer: its own participants' miners only (a bare array this time).
    mine = {**ok, "miner": ALICE, "worker": "rig9", "device_id": "gpu0", "device_class": "GPU", "power_w": 250.0,
            "fan_rpm": 2000.0}
    by_key = api.post("/api/v1/telemetry", headers=alice, json=[mine, {**mine, "miner": OTHER}, {**ok}])
    assert [(i["accepted"], i.get("reason")) for i in by_key.json()["data"]["items"]] == [
        (True, None), (False, "not_your_miner"), (False, "malformed")]  # a key's readings must name miner+worker

    store(kafka, topics, clickhouse, 3)
    time.sleep(0.5)
    rows = clickhouse.query("SELECT miner, worker, device_id, temperature_c FROM telemetry FINAL "
                            "ORDER BY worker, device_id").result_rows
    assert rows == [(ALICE, "rig1", "chain0", 71.5), (ALICE, "rig1", "chain1", 71.5), (ALICE, "rig9", "gpu0", 71.5)]
    messages = read_topic(kafka, topics.telemetry)
    assert len(messages) == 2  # one message per request
    assert read_topic(kafka, topics.telemetry_rejected) == []  # bad items never reached the topic


def test_envelope_errors(api: TestClient[Any], clickhouse: Client) -> None:
    writer = auth_headers(create_user_key(clickhouse, "write"))
    reader = auth_headers(create_user_key(clickhouse, "read"))
    one = {"ts": 1, "miner": ALICE, "worker": "w", "device_class": "ASIC"}
    too_many = api.post("/api/v1/telemetry", headers=writer, json=[one] * (MAX_ITEMS + 1))
    assert too_many.status_code == 413 and str(MAX_ITEMS) in too_many.json()["error"]["message"]
    bodies: list[object] = [[], {"readings": 5}, 7, {"nothing": []}]
    for body in bodies:
        bad = api.post("/api/v1/telemetry", headers=writer, json=body)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_REQUEST", body
    assert api.post("/api/v1/telemetry", json=[one]).status_code == 401
    assert api.post("/api/v1/telemetry", headers=reader, json=[one]).status_code == 403
    assert api.post("/api/v1/telemetry", headers=auth_headers("psw_1_" + "a" * 43), json=[one]).status_code == 401
