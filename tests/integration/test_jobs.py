"""Scheduler jobs against the real broker: `consumer-lag` reads the group's lag and exports the gauge."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from jobs.consumer_lag import ConsumerLagJob
from jobs.scheduler import create_scheduler, schedule
from schemas.topics import TopicNames
from tests.conftest import unique

pytestmark = pytest.mark.integration


def test_consumer_lag_job_exports_the_lag(kafka: str, topics: TopicNames) -> None:
    # one record per batch: the embedded broker's high watermark counts batches, not records
    producer = Producer({"bootstrap.servers": kafka, "linger.ms": 0})
    for i in range(30):
        producer.produce(topics.blocks, value=b"%d" % i, partition=i % 2)
        assert producer.flush(10) == 0
    job = ConsumerLagJob(kafka, unique("g"), [topics.blocks, topics.name("missing")])
    lags = {lag.topic: lag for lag in asyncio.run(job.run())}
    assert lags[topics.blocks].lag == 30
    assert lags[topics.name("missing")].lag is None and lags[topics.name("missing")].error == "topic not found"
    assert REGISTRY.get_sample_value("poolstream_consumer_lag", {"topic": topics.blocks}) == 30


def test_jobs_are_scheduled_by_id_and_interval(kafka: str, topics: TopicNames) -> None:
    async def scheduled() -> tuple[str, float]:
        scheduler = create_scheduler()
        schedule(scheduler, ConsumerLagJob(kafka, unique("g"), [topics.shares], interval_s=7.0))
        (job,) = scheduler.get_jobs()
        return job.id, job.trigger.interval.total_seconds()

    assert asyncio.run(scheduled()) == ("consumer-lag", 7.0)
