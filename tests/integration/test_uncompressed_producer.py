"""A producer with default settings (no compression, as confluent-kafka, kafka-python, kcat and the Java
client ship) publishing JSON shares one per message: every share is stored promptly, also the last
messages of a burst after which the topic goes quiet (they used to wait for the next message)."""

from __future__ import annotations

import asyncio
import json
import time

from clickhouse_connect.driver.client import Client
from confluent_kafka import Producer

from schemas.topics import TopicNames
from tests.integration.pipeline import running_pipeline, wait_for

MINER = "bc1qexampleminer0000000000000000000000cccc"


def test_default_uncompressed_producer_is_stored_without_waiting_for_more(
    kafka: str, topics: TopicNames, clickhouse: Client
) -> None:
    async def scenario() -> None:
        async with running_pipeline(kafka, topics, clickhouse, max_messages=100) as pipeline:
            producer = Producer({"bootstrap.servers": kafka})  # librdkafka defaults: no compression
            now = int(time.time() * 1000)
            for burst in range(2):
                for i in range(200):  # a multiple of the take size: no short take ends the burst
                    n = burst * 200 + i
                    share = {"ts": now, "algorithm": "sha256d", "miner": MINER, "worker": "w", "difficulty": 1,
                             "job_id": "j", "extranonce2": f"{n:08x}", "ntime": "6745c1a8", "nonce": f"{n:x}"}
                    producer.produce(topics.shares, json.dumps(share).encode(), key=MINER.encode())
                assert producer.flush(10) == 0
                want = (burst + 1) * 200
                await wait_for(lambda want=want: int(clickhouse.command("SELECT count() FROM shares")) == want,
                               timeout=10, what=f"{want} shares stored while the topic is quiet", pipeline=pipeline)

    asyncio.run(scenario())
    assert int(clickhouse.command("SELECT uniqExact(share_key) FROM shares WHERE status = 'accepted'")) == 400
