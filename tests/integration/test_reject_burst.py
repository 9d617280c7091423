"""Defect 0: a burst of rejects no longer kills ingestion.

150k time-skewed shares (older than SHARE_MAX_PAST_S, as `poolstream simulate --duration 10000` makes) in one
batch: their dead letters, ~40 MB as one Arrow message, exceeded the Publisher's 16 MiB limit and the agent
died. Now they are split into messages of at most 1 MB, every share is stored once, and the agent goes on.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from bus.publisher import Publisher, PublisherSettings
from schemas.share import SHARE_SCHEMA, encode_arrow
from schemas.topics import TopicNames
from streams.deadletters import DEAD_LETTER_MAX_BYTES
from tests.integration.pipeline import running_pipeline, wait_for
from tests.integration.test_share_pipeline import count, read_topic

MINER = "bc1qexampleminer0000000000000000000000aaaa"
BURST = 150_000
PER_MESSAGE = 5_000


def shares(n: int, first_nonce: int, ts_ms: int) -> pa.RecordBatch:
    """`n` distinct valid shares at `ts_ms`, built as columns."""
    nonce = np.arange(first_nonce, first_nonce + n, dtype=np.uint32)

    def text(value: str) -> pa.Array:
        return pa.array([value] * n, type=pa.string())

    columns = {
        "ts": pa.array(np.full(n, ts_ms, dtype=np.int64)).cast(pa.timestamp("ms", tz="UTC")),
        "algorithm": text("sha256d"), "miner": text(MINER), "worker": text("rig1"),
        "difficulty": pa.array(np.ones(n)), "network_difficulty": pa.array(np.full(n, 1e12)),
        "result": text("accepted"), "job_id": text("j1"), "extranonce2": text("00000001"),
        "ntime": pa.array(np.full(n, 1_700_000_000, dtype=np.uint32)), "nonce": pa.array(nonce),
        "ip": text("127.0.0.1"), "hardware": text("asic"), "coin": text("BTC"),
        "gateway": text("gw-1"), "region": text(""),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in SHARE_SCHEMA], schema=SHARE_SCHEMA)


def publish(pub: Publisher, topic: str, batch: pa.RecordBatch) -> None:
    for start in range(0, batch.num_rows, PER_MESSAGE):
        pub.publish(topic, encode_arrow(batch.slice(start, PER_MESSAGE)), key=b"burst")  # one partition
    pub.flush()


def test_a_burst_of_rejects_is_split_and_ingestion_goes_on(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    pub = Publisher(PublisherSettings(kafka))
    now = int(time.time() * 1000)
    publish(pub, topics.shares, shares(BURST, 0, now - 3 * 3600 * 1000))  # older than SHARE_MAX_PAST_S

    async def scenario() -> None:
        async with running_pipeline(kafka, topics, clickhouse) as p:
            await wait_for(lambda: count(clickhouse) == BURST, 60, "the burst stored", pipeline=p)
            publish(pub, topics.shares, shares(1_000, BURST, now))  # the agent is still consuming
            await wait_for(lambda: count(clickhouse) == BURST + 1_000, 30, "shares after the burst", pipeline=p)
            assert p.ingest.status.failures == 0 and p.ingest.error is None

    asyncio.run(scenario())
    statuses = dict(clickhouse.query("SELECT status, count() FROM shares GROUP BY status").result_rows)
    assert statuses == {"time_skew": BURST, "accepted": 1_000}
    assert int(clickhouse.command("SELECT uniqExact(src_partition, src_offset, nonce) FROM shares")) == BURST + 1_000

    dead = read_topic(kafka, topics.shares_rejected)
    assert len(dead) > 1 and all(len(value) <= DEAD_LETTER_MAX_BYTES for value, _ in dead)
    parts = [pa.ipc.open_stream(value).read_all() for value, _ in dead]
    assert sum(t.num_rows for t in parts) == BURST
    assert {s for t in parts for s in t.column("status").to_pylist()} == {"time_skew"}
    assert sorted(h["part"] for _, h in dead) == sorted(f"{i}/{len(dead)}".encode() for i in range(1, len(dead) + 1))
