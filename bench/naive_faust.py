"""The reference the JSON path is compared with: the pipeline a user would write from the Faust tutorial.

One JSON share per message, a per-event agent (`async for value in stream`), `json.loads`, rows appended to
a list and inserted 10,000 at a time with clickhouse-connect (a timer flushes the rest), into a plain
MergeTree table in a fresh chDB. No checks, no duplicate window, no exactly-once: it is what poolstream's
JSON path must beat while doing all of those. The messages are produced before the app starts (the
producer does not compete for the CPU), so the figure is the naive app's consume + store capacity.

`python -m bench naive` runs it alone; `make bench` runs it right after the JSON pipeline, for the ratio.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "job_id", "extranonce2", "ntime", "nonce"]
DDL = """CREATE TABLE naive_shares (ts DateTime64(3, 'UTC'), algorithm String, miner String, worker String,
  difficulty Float64, job_id String, extranonce2 String, ntime UInt32, nonce UInt32)
  ENGINE = MergeTree ORDER BY (miner, ts)"""


def say(message: str) -> None:
    print(f"bench naive: {message}", file=sys.stderr, flush=True)


def _produce(bootstrap: str, topic: str, count: int) -> None:
    from bus.publisher import Publisher, PublisherSettings
    from schemas.share import Share, encode_json

    now = int(time.time() * 1000)
    publisher = Publisher(PublisherSettings(bootstrap))
    try:
        for i in range(count):
            miner = f"bc1qnaiveminer{i % 100:026d}"
            share = Share(ts=now - 1000, algorithm="sha256d", miner=miner, worker=f"rig{i % 100}", difficulty=1.0,
                          network_difficulty=1e12, job_id=f"j{i // 1000}", extranonce2=f"{i:08x}",
                          ntime=now // 1000, nonce=i, ip="127.0.0.1", hardware="asic")
            publisher.publish(topic, encode_json(share), miner.encode())
    finally:
        publisher.flush(120.0)


async def _consume(bootstrap: str, topic_name: str, client: Any, count: int, timeout_s: float) -> float:
    """Run the naive app until `count` rows are stored; stored rows per second from its first INSERT (the
    group join before it is not counted)."""
    import faust
    from faust.contrib.asgi import faust_app_running

    app = faust.App(f"naive-{secrets.token_hex(4)}", broker=f"kafka://{bootstrap}", value_serializer="raw",
                    store="memory://", web_enabled=False, autodiscover=False, topic_partitions=4,
                    consumer_auto_offset_reset="earliest", broker_rebalance_timeout=3.0,
                    broker_session_timeout=10.0, broker_heartbeat_interval=1.0)
    topic = app.topic(topic_name, value_serializer="raw")
    rows: list[list[Any]] = []

    def flush() -> None:
        if rows:
            client.insert("naive_shares", rows, column_names=COLUMNS)
            rows.clear()

    @app.agent(topic)
    async def store(stream: Any) -> None:  # the tutorial's shape: one event at a time
        async for value in stream:
            s = json.loads(value)
            rows.append([datetime.fromtimestamp(s["ts"] / 1000, tz=UTC), s["algorithm"], s["miner"], s["worker"], s["difficulty"], s["job_id"],
                         s["extranonce2"], s["ntime"], s["nonce"]])
            if len(rows) >= 10_000:
                flush()

    @app.timer(1.0)
    async def leftovers() -> None:
        flush()

    started = time.monotonic()
    first: tuple[float, int] | None = None  # the first sample with rows: the group has joined
    async with faust_app_running(app, stop_timeout=30):
        stored = 0
        while stored < count and time.monotonic() - started < timeout_s:
            await asyncio.sleep(0.2)
            stored = int(client.command("SELECT count() FROM naive_shares"))
            if first is None and stored:
                first = (time.monotonic(), stored)
    if stored < count or first is None:
        say(f"only {stored:,} of {count:,} rows stored after {timeout_s:.0f}s")
    if first is None:
        return 0.0
    seconds = time.monotonic() - first[0]
    return (stored - first[1]) / seconds if seconds > 0 else float("nan")


def run_in_process(count: int) -> float:
    from bus.admin import ensure_topics
    from poolstream.broker import EmbeddedBroker
    from sinks.client import ClickHouseSettings, connect

    workdir = tempfile.mkdtemp(prefix="poolstream-naive-")
    topic = f"naive{secrets.token_hex(4)}.shares"
    try:
        with EmbeddedBroker() as broker:
            ensure_topics(broker.bootstrap, [topic], partitions=4)
            client = connect(ClickHouseSettings(dsn=f"chdb://{workdir}/clickhouse", database="naive"))
            client.command("CREATE DATABASE IF NOT EXISTS naive")
            client.command(DDL)
            say(f"producing {count:,} JSON shares (one per message)")
            _produce(broker.bootstrap, topic, count)
            say("the naive Faust app consumes and stores them")
            rate = asyncio.run(_consume(broker.bootstrap, topic, client, count, timeout_s=300.0))
            client.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rate


def _child(count: int, out: Any) -> None:
    out.put(run_in_process(count))


def run(count: int = 200_000) -> dict[str, float]:
    """The naive app's stored shares/s, in a fresh process (its own chDB engine)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(count, out), name="bench-naive-faust")
    proc.start()
    try:
        rate = float(out.get(timeout=600))
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    print(f"naive Faust-tutorial app (JSON, 1 share/message, per-event agent, 10k-row inserts): "
          f"stored {rate:,.0f} shares/s ({count:,} shares produced beforehand)")
    sys.stdout.flush()
    return {"naive_faust_stored_per_s": rate}
