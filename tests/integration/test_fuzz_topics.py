"""Fuzzed topics (issue 7, point 4): malformed and hostile messages on `shares`, `blocks` and `telemetry` —
truncated Arrow, wrong schema/version/types, huge values, NaN, invalid UTF-8, JSON bombs, ~10 MB messages,
empty messages, binary garbage — interleaved with good ones, through the real agents, broker and chDB. No
agent fails or dies, every hostile message lands in its dead-letter topic exactly once with a reason header
and is counted in `poolstream_dead_letters_total`, every good message is stored exactly once
(`tests.fuzz.harness.verify`).

The default run is ~15k messages; `make fuzz` runs the long one: FUZZ_MESSAGES hostile messages (default
1,000,000), one good message after every FUZZ_GOOD_EVERY (default 10), seed FUZZ_SEED.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from clickhouse_connect.driver.client import Client

from schemas.topics import TopicNames
from tests.fuzz.harness import Plan, fuzz

pytestmark = pytest.mark.integration


def test_fuzzed_topics_short(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    figures = asyncio.run(fuzz(kafka, topics, clickhouse, Plan(12_000, seed=7, good_every=4), timeout_s=60))
    print(figures.report())
    assert sum(figures.sent.values()) == 15_000


@pytest.mark.slow
def test_fuzzed_topics_long(kafka: str, topics: TopicNames, clickhouse: Client) -> None:
    hostile = int(os.environ.get("FUZZ_MESSAGES", "1000000"))
    plan = Plan(hostile, seed=int(os.environ.get("FUZZ_SEED", "1")), good_every=int(os.environ.get("FUZZ_GOOD_EVERY", "10")))
    figures = asyncio.run(fuzz(kafka, topics, clickhouse, plan, timeout_s=max(120.0, hostile / 500)))
    print(figures.report())
    assert sum(n for (_, kind), n in figures.sent.items() if kind == "hostile") == hostile
