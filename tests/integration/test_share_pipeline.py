"""The share pipeline on real parts: embedded broker -> Faust agent + numba checks -> chDB."""

from __future__ import annotations

import asyncio
import math
import time

import pyarrow as pa
from clickhouse_connect.driver.client import Client
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bus.config import client_config
from bus.publisher import Publisher, PublisherSettings
from schemas.share import Share, encode_arrow, encode_json, shares_to_batch
from schemas.topics import TopicNames
from tests.conftest import unique
from tests.integration.pipeline import running_pipeline, wait_for

ADDR_A = "bc1qexampleminer0000000000000000000000aaaa"
ADDR_B = "bc1qexampleminer0000000000000000000000bbbb"


def share(i: int, miner: str = ADDR_A, **kw: object) -> Share:
    base: dict[str, object] = dict(
        ts=int(time.time() * 1000) - 1000, algorithm="sha256d", miner=miner, worker=f"rig{i % 3}",
        difficulty=1.0 + i % 5, network_difficulty=1e12, job_id=f"j{i // 100}", extranonce2=f"{i:08x}",
        ntime=1_700_000_000, nonce=i, ip="127.0.0.1", hardware="asic",
    )
    base.update(kw)
    return Share(**base)  # type: ignore[arg-type]


def count(ch: Client, where: str = "1") -> int:
    return int(ch.command(f"SELECT count() FROM shares WHERE {where}"))


def read_topic(bootstrap: str, topic: str, idle_s: float = 2.0, timeout: float = 20.0) -> list[tuple[bytes, dict[str, bytes]]]:
    """Every message on `topic` (assigned partitions, no group join), until it has been idle for `idle_s`."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": unique("read"), "enable.auto.commit": False}))
    partitions = consumer.list_topics(topic, timeout=5).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    out: list[tuple[bytes, dict[str, bytes]]] = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while time.monotonic() < deadline and time.monotonic() - last < idle_s:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            last = time.monotonic()
            out.append((msg.value(), dict(msg.headers() or [])))
    finally:
        consumer.close()
    return out


def test_json_and_arrow_shares_counted_exactly_with_rejects_routed(
    kafka: str, topics: TopicNames, clickhouse: Client
) -> None:
    pub = Publisher(PublisherSettings(kafka))
    good_json = [share(i) for i in range(300)]
    bad_json = [
        share(1000, difficulty=0.0),
        share(1001, difficulty=-1.0),
        share(1002, miner="short"),
        share(1003, worker="bad worker!"),
        share(1004, algorithm="sha3"),
        share(1005, ts=int(time.time() * 1000) - 2 * 3600 * 1000),  # older than the allowed skew
        share(1006, result="stale"),
        share(5),  # duplicate of share(5): same job/extranonce2/ntime/nonce
    ]
    for s in good_json + bad_json:
        pub.publish(topics.shares, encode_json(s), key=s.miner.encode())
    pub.publish(topics.shares, b"{not json", key=b"x")
    arrow_shares = [share(i, miner=ADDR_B) for i in range(2000, 7000)]
    # JSON cannot carry inf (it would be a malformed message); Arrow can.
    pub.publish(topics.shares, encode_arrow(shares_to_batch([share(7001, miner=ADDR_B, difficulty=math.inf)])))
    for start in range(0, len(arrow_shares), 1000):
        pub.publish(topics.shares, encode_arrow(shares_to_batch(arrow_shares[start:start + 1000])), key=ADDR_B.encode())
    pub.flush()

    async def scenario() -> None:
        async with running_pipeline(kafka, topics, clickhouse) as p:
            await wait_for(lambda: count(clickhouse) == 300 + 8 + 5001, what="all shares stored", pipeline=p)
    asyncio.run(scenario())

    assert count(clickhouse, "status = 'accepted'") == 300 + 5000
    reasons = dict(clickhouse.query("SELECT status, count() FROM shares WHERE status != 'accepted' GROUP BY status").result_rows)
    assert reasons == {"bad_difficulty": 3, "bad_address": 1, "bad_worker": 1, "unknown_algorithm": 1,
                       "time_skew": 1, "stale": 1, "duplicate": 1}
    total_diff = clickhouse.command("SELECT sum(difficulty) FROM shares WHERE status = 'accepted'")
    assert float(total_diff) == sum(s.difficulty for s in good_json + arrow_shares)
    # the minute buckets agree with the raw rows
    assert int(clickhouse.command("SELECT sum(accepted) FROM shares_1m")) == 5300
    assert int(clickhouse.command("SELECT sum(stale) FROM shares_1m")) == 1
    assert int(clickhouse.command("SELECT sum(rejected) FROM shares_1m")) == 8

    dlq = read_topic(kafka, topics.shares_rejected)
    malformed = [h for _, h in dlq if h.get("reason") == b"malformed"]
    assert len(malformed) == 1 and b"{not json" not in malformed[0].get("error", b"")
    batches = [pa.ipc.open_stream(v).read_all() for v, h in dlq if "part" in h]  # rejected rows (raw: "src")
    statuses = sorted(s for t in batches for s in t.column("status").to_pylist())
    assert statuses == sorted(["bad_difficulty", "bad_difficulty", "bad_difficulty", "bad_address", "bad_worker", "unknown_algorithm",
                               "time_skew", "stale", "duplicate"])


def test_replay_after_restart_counts_nothing_twice(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    pub = Publisher(PublisherSettings(kafka))
    first = [share(i) for i in range(500)]
    for start in range(0, 500, 100):
        pub.publish(topics.shares, encode_arrow(shares_to_batch(first[start:start + 100])), key=ADDR_A.encode())
    pub.flush()

    async def run_once(app_id: str, expect: int) -> None:
        async with running_pipeline(kafka, topics, clickhouse, app_id=app_id) as p:
            await wait_for(lambda: count(clickhouse) == expect, what=f"{expect} shares", pipeline=p)
            await asyncio.sleep(1.0)

    # A new consumer group re-reads the topic from the beginning: a full replay of every message.
    asyncio.run(run_once(unique("g"), 500))
    asyncio.run(run_once(unique("g"), 500))
    second = [share(i, miner=ADDR_B) for i in range(500, 800)]
    pub.publish(topics.shares, encode_arrow(shares_to_batch(second)), key=ADDR_B.encode())
    pub.flush()
    asyncio.run(run_once(unique("g"), 800))
    assert count(clickhouse) == 800
    assert int(clickhouse.command("SELECT sum(accepted) FROM shares_1m")) == 800
    # no replayed share was mistaken for a duplicate either
    assert count(clickhouse, "status = 'duplicate'") == 0
