"""The real health probe against the embedded broker and chDB: reachability, consumer lag and the gauge."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, Producer, TopicPartition
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from api import ApiDeps, ApiSettings, create_app
from api.health import KafkaClickHouseProbe
from bus.config import client_config
from poolstream.broker import free_port
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from streams.supervision import AgentBoard

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    """One record per produce request: the embedded Tansu broker answers ListOffsets(latest) with the last
    record batch's base offset + 1, so a multi-record batch would hide part of the lag (not so on Kafka)."""
    producer = Producer(client_config(bootstrap))
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=f"m{i}".encode(), partition=partition)
            assert producer.flush(10) == 0


def commit(bootstrap: str, group_id: str, offsets: list[TopicPartition]) -> None:
    consumer = Consumer(client_config(bootstrap, **{"group.id": group_id, "enable.auto.commit": False}))
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def test_lag_is_high_watermark_minus_committed(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    group = f"g{uuid.uuid4().hex[:10]}"
    produce(kafka, topics.shares, {0: 5, 1: 3})
    commit(kafka, group, [TopicPartition(topics.shares, 0, 2)])
    missing = topics.name("does-not-exist")
    probe = KafkaClickHouseProbe(
        bootstrap=kafka, group_id=group, topics=[topics.shares, topics.blocks, missing], clickhouse=clickhouse
    )

    report = asyncio.run(probe.check())

    assert report.ok and report.kafka.ok and report.clickhouse.ok
    lags = {lag.topic: lag for lag in report.consumer_lag}
    assert lags[topics.shares].lag == (5 - 2) + (3 - 0)  # partition 1 never committed: all of it
    assert lags[topics.blocks].lag == 0
    assert lags[missing].lag is None and lags[missing].error == "topic not found"
    assert REGISTRY.get_sample_value("poolstream_consumer_lag", {"topic": topics.shares}) == 6.0


def test_health_endpoint_with_the_real_probe(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    probe = KafkaClickHouseProbe(
        bootstrap=kafka, group_id="g-api", topics=[topics.shares], clickhouse=clickhouse
    )
    deps = ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=ApiSettings(), health=probe)
    with TestClient(create_app(deps)) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["consumer_lag"] == [{"topic": topics.shares, "lag": 0, "error": None}]


def test_unreachable_broker_is_503(clickhouse: Client) -> None:
    dead = f"127.0.0.1:{free_port()}"
    probe = KafkaClickHouseProbe(
        bootstrap=dead, group_id="g-api", topics=["shares"], clickhouse=clickhouse, timeout=0.5
    )
    deps = ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=ApiSettings(), health=probe)
    with TestClient(create_app(deps)) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 503
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    report = error["details"]["report"]
    assert report["kafka"]["ok"] is False and report["clickhouse"]["ok"] is True
    assert report["consumer_lag"] == [{"topic": "shares", "lag": None, "error": "broker unreachable"}]


def test_a_stalled_or_dead_agent_is_503_with_the_reason(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    """The probe reads the agents' statuses (the runtime passes them in): an agent that completed no batch for
    longer than `stall_after_s` while its topic has lag is stalled; a dead agent says why."""
    clock = [0.0]
    board = AgentBoard(monotonic=lambda: clock[0])
    shares, blocks = board.add("shares", topics.shares), board.add("blocks", topics.blocks)
    shares.started()
    blocks.started()
    produce(kafka, topics.shares, {0: 2})
    probe = KafkaClickHouseProbe(bootstrap=kafka, group_id=f"g{uuid.uuid4().hex[:10]}", clickhouse=clickhouse,
                                 topics=[topics.shares, topics.blocks], agents=board, stall_after_s=30)
    deps = ApiDeps(clickhouse=clickhouse, clock=SystemClock(), settings=ApiSettings(), health=probe)
    with TestClient(create_app(deps)) as client:
        assert client.get("/api/v1/admin/health").status_code == 200  # lag, but progress is recent
        clock[0] = 31.0
        response = client.get("/api/v1/admin/health")
        assert response.status_code == 503
        assert response.json()["error"]["message"] == (
            f"unhealthy: agent shares stalled: no batch completed for 31s while 2 message(s) wait on {topics.shares}"
        )
        shares.progressed()
        blocks.died(RuntimeError("stream broke"))
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "unhealthy: agent blocks dead: RuntimeError: stream broke"
    agents = {a["name"]: a for a in response.json()["error"]["details"]["report"]["agents"]}
    assert agents["shares"]["ok"] is True and agents["blocks"]["state"] == "dead"
