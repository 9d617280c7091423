"""The cgminer-API poller on real parts: fake rigs (JSON and pipe answers) -> poller job -> embedded broker ->
telemetry agent -> rows in chDB, one per hashboard/device; an unreachable rig is counted and does not stop the
others. The job's wiring reads registered ASIC workers with a host from the registry."""

from __future__ import annotations

import asyncio
import socket

from clickhouse_connect.driver.client import Client

from bus.publisher import Publisher, PublisherSettings
from poolstream.telemetry_jobs import registered_rigs
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sources.cgminer.hosts import Rig
from sources.cgminer.poller import CgminerPollJob
from tests.integration.test_telemetry_http import store
from tests.support_cgminer import FakeCgminer

MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def test_fake_rigs_to_rows(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]

    async def poll() -> None:
        async with FakeCgminer("json") as s9, FakeCgminer("pipe", "whatsminer") as m30:
            rigs = [Rig("127.0.0.1", s9.port, MINER, "s9"), Rig("127.0.0.1", m30.port, MINER, "m30"),
                    Rig("127.0.0.1", dead_port, MINER, "gone")]
            job = CgminerPollJob(rigs, Publisher(PublisherSettings(kafka)), topics.telemetry, SystemClock(),
                                 interval_s=30, timeout_s=2.0)
            run = await job.run()
            assert run.readings == 5 and run.failed == [f"127.0.0.1:{dead_port}"]

    asyncio.run(poll())
    store(kafka, topics, clickhouse, 5)
    rows = clickhouse.query("SELECT worker, device_id, device_class, model, round(hashrate / 1e9), temperature_c, "
                            "fan_rpm, round(power_w) FROM telemetry FINAL ORDER BY worker, device_id").result_rows
    assert rows == [
        ("m30", "ASC0", "ASIC", "SM", 60_000.0, 70.5, 4200.0, 2016.0),
        ("m30", "ASC1", "ASIC", "SM", 40_000.0, 73.0, 4200.0, 1344.0),
        ("s9", "chain6", "ASIC", "Antminer S9", 4650.0, 76.0, 5880.0, None),
        ("s9", "chain7", "ASIC", "Antminer S9", 4700.0, 79.0, 5880.0, None),
        ("s9", "chain8", "ASIC", "Antminer S9", 4637.0, 75.0, 5880.0, None),
    ]


def test_registered_asic_workers_with_a_host_are_polled(clickhouse: Client) -> None:
    columns = ["id", "participant_id", "address", "worker_name", "host", "stats_port", "hardware_type", "deleted",
               "is_active"]
    clickhouse.insert("workers", [
        [1, 1, MINER, "s19", "10.0.0.9", 0, "asic", 0, 1],
        [2, 1, MINER, "gpu", "localhost", 12000, "gpu", 0, 1],  # seed 004's GPU stats port: not cgminer
        [3, 1, MINER, "old", "10.0.0.10", 4029, "asic", 1, 0],  # deleted
        [4, 1, "", "unlinked", "10.0.0.11", 4029, "asic", 0, 1],  # no address: whose readings?
        [5, 1, MINER, "s21", "10.0.0.12", 4030, "asic", 0, 1],
    ], column_names=columns)
    assert registered_rigs(clickhouse) == [Rig("10.0.0.9", 4028, MINER, "s19"), Rig("10.0.0.12", 4030, MINER, "s21")]
