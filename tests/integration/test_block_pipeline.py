"""The blocks agent on real parts: block events land in ClickHouse once; bad events are dead letters."""

from __future__ import annotations

import asyncio

from clickhouse_connect.driver.client import Client
from faust.contrib.asgi import faust_app_running

from bus.publisher import Publisher, PublisherSettings
from schemas.block import Block, encode_block
from schemas.topics import TopicNames
from sinks.blocks import BlockWriter
from streams.app import create_faust_app
from streams.blocks import attach_blocks
from streams.settings import StreamSettings
from tests.conftest import unique
from tests.integration.pipeline import wait_for
from tests.integration.test_share_pipeline import read_topic

MINER = "bc1qexampleminer0000000000000000000000aaaa"


def test_block_events_stored_once_and_malformed_routed(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    pub = Publisher(PublisherSettings(kafka))
    found = Block(ts=1_795_000_000_000, algorithm="sha256d", height=125552, hash="00" * 32, miner=MINER,
                  reward=5_000_000_000, network_difficulty=1.5e4, status="found")
    confirmed = Block(ts=1_795_000_600_000, algorithm="sha256d", height=125552, hash="00" * 32, miner=MINER,
                      reward=5_000_000_000, network_difficulty=1.5e4, status="confirmed")
    for block in (found, found, confirmed):  # the second `found` is a duplicate delivery
        pub.publish(topics.blocks, encode_block(block), key=MINER.encode())
    pub.publish(topics.blocks, b'{"height": "x"}', key=b"bad")
    pub.flush()

    async def scenario() -> None:
        settings = StreamSettings(bootstrap=kafka, app_id=unique("g"), flush_interval_s=0.2)
        app = create_faust_app(settings)
        attach_blocks(app, settings, topics, BlockWriter(clickhouse), Publisher(PublisherSettings(kafka)))
        async with faust_app_running(app, stop_timeout=30):
            await wait_for(lambda: int(clickhouse.command("SELECT count() FROM blocks FINAL")) == 2, what="blocks")

    asyncio.run(scenario())
    latest = clickhouse.query(
        "SELECT argMax(status, updated_at), any(reward), any(height) FROM blocks GROUP BY hash"
    ).result_rows
    assert latest == [("confirmed", 5_000_000_000, 125552)]
    history = clickhouse.query("SELECT status FROM blocks FINAL ORDER BY updated_at").result_rows
    assert history == [("found",), ("confirmed",)]  # the duplicate `found` delivery collapsed
    dead = read_topic(kafka, topics.blocks_rejected)
    assert [h.get("reason") for _, h in dead] == [b"malformed"]
