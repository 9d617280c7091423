"""The maturity job on a real chDB: found -> confirmed after the coin's maturity, -> orphaned when the chain
says so, pending blocks get their confirmation count, and running it again changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from jobs.maturity import MaturityJob, coin_maturity
from schemas.clock import FixedClock
from schemas.rows import BLOCK_COLUMNS
from sources.chain.simulated import ChainBlock, SimulatedChain, SimulatedChainFile
from sources.chain.status import ChainUnavailable

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def found(hash_: str, height: int, coin: str) -> list[Any]:
    return [hash_, height, T0, "scrypt" if coin == "DOGE" else "sha256d", coin, "m", "w", 625_000_000, 1e6, 2e6,
            "found", "j", "", T0]


class Chain:
    def __init__(self, answers: dict[str, int | None]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int, str]] = []

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None:
        self.asked.append((coin, height, block_hash))
        if block_hash not in self.answers:
            raise ChainUnavailable("node down")
        return self.answers[block_hash]


def current(client: Client) -> dict[str, tuple[str, int]]:
    rows = client.query("SELECT hash, argMax(status, updated_at), argMax(confirmations, updated_at) FROM blocks "
                        "GROUP BY hash").result_rows
    return {str(h): (str(s), int(c)) for h, s, c in rows}


def test_found_blocks_mature_orphan_or_wait(clickhouse: Client) -> None:
    a, b, c, d, e = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64)
    clickhouse.insert("blocks", [found(a, 10, "BTC"), found(b, 11, "BTC"), found(c, 12, "DOGE"),
                                 found(d, 13, "BTC"), found(e, 14, "DOGE")], column_names=BLOCK_COLUMNS)
    chain = Chain({a: 101, b: None, c: 240, e: 241})  # d: the node cannot say
    job = MaturityJob(clickhouse, chain, FixedClock(T0 + dt.timedelta(hours=1)))
    run = job.check()
    assert sorted(run.confirmed) == [a, e] and run.orphaned == [b] and run.pending == 1 and run.unavailable == 1
    assert current(clickhouse) == {a: ("confirmed", 101), b: ("orphaned", 0), c: ("found", 240),
                                   d: ("found", 0), e: ("confirmed", 241)}
    rows = clickhouse.query("SELECT count() FROM blocks").result_rows[0][0]

    chain.asked.clear()
    again = MaturityJob(clickhouse, chain, FixedClock(T0 + dt.timedelta(hours=2))).check()
    assert sorted(h for _, _, h in chain.asked) == [c, d]  # decided blocks are not asked again
    assert again.confirmed == [] and again.orphaned == []
    assert clickhouse.query("SELECT count() FROM blocks").result_rows[0][0] == rows  # same count: nothing new

    chain.answers[c] = 241
    MaturityJob(clickhouse, chain, FixedClock(T0 + dt.timedelta(hours=3))).check()
    assert current(clickhouse)[c] == ("confirmed", 241)
    found_at = clickhouse.query(f"SELECT min(ts) FROM blocks WHERE hash = '{c}'").result_rows[0][0]
    assert found_at.replace(tzinfo=dt.UTC) == T0  # status rows keep the block's time


def test_a_retried_decision_collapses(clickhouse: Client) -> None:
    a = "f" * 64
    clickhouse.insert("blocks", [found(a, 10, "LTC")], column_names=BLOCK_COLUMNS)
    job = MaturityJob(clickhouse, Chain({a: 500}), FixedClock(T0))
    job.check()
    # a retry of the same insert (the job died after the insert, before it could know): the same token
    clickhouse.insert("blocks", [found(a, 10, "LTC")], column_names=BLOCK_COLUMNS)  # a replayed found event
    job.check()
    statuses = clickhouse.query(f"SELECT status FROM blocks FINAL WHERE hash = '{a}' ORDER BY status").result_rows
    assert statuses == [("confirmed",), ("found",)]


def test_simulated_chain_drives_the_job(clickhouse: Client, tmp_path: Path) -> None:
    path = tmp_path / "chain.json"
    chain_file = SimulatedChainFile()
    t0_ms = int(T0.timestamp() * 1000)
    chain_file.tip("BTC", t0_ms, 1000)
    good, lost = "1" * 64, "2" * 64
    h = chain_file.next_height("BTC", t0_ms)
    chain_file.blocks[good] = ChainBlock(good, "BTC", h)
    chain_file.blocks[lost] = ChainBlock(lost, "BTC", h + 1, orphan=True)
    chain_file.save(path)
    clickhouse.insert("blocks", [found(good, h, "BTC"), found(lost, h + 1, "BTC")], column_names=BLOCK_COLUMNS)
    early = dt.timedelta(seconds=50)
    MaturityJob(clickhouse, SimulatedChain(path, FixedClock(T0 + early)), FixedClock(T0 + early)).check()
    assert current(clickhouse) == {good: ("found", 50), lost: ("orphaned", 0)}
    late = T0 + dt.timedelta(seconds=coin_maturity("BTC"))
    MaturityJob(clickhouse, SimulatedChain(path, FixedClock(late)), FixedClock(late)).check()
    assert current(clickhouse)[good] == ("confirmed", coin_maturity("BTC"))


def test_simulated_fleet_finds_blocks_that_mature(kafka: str, topics: Any, clickhouse: Client,
                                                  tmp_path: Path) -> None:
    """`poolstream simulate` on the real broker: its blocks land in the `blocks` table through the agent, and
    the maturity job reading its chain file confirms them, or orphans the ones the chain orphaned."""
    import asyncio

    from faust.contrib.asgi import faust_app_running

    from bus.publisher import Publisher, PublisherSettings
    from schemas.clock import SystemClock
    from sinks.blocks import BlockWriter
    from sources.simulate.options import SimulateOptions
    from sources.simulate.run import simulate
    from streams.app import create_faust_app
    from streams.blocks import attach_blocks
    from streams.settings import StreamSettings
    from tests.conftest import unique
    from tests.integration.pipeline import wait_for

    chain_path = tmp_path / "chain.json"
    options = SimulateOptions(miners=4, workers=1, duration_s=300, seed=11, network_difficulty=2e5,
                              orphan_rate=0.3, chain_block_time_s=0.5)
    report = simulate(options, Publisher(PublisherSettings(kafka)), topics, SystemClock(), chain_path=chain_path)
    assert report.blocks, "the fleet should find blocks at this network difficulty"

    async def scenario() -> None:
        settings = StreamSettings(bootstrap=kafka, app_id=unique("g"), flush_interval_s=0.2)
        app = create_faust_app(settings)
        attach_blocks(app, settings, topics, BlockWriter(clickhouse), Publisher(PublisherSettings(kafka)))
        async with faust_app_running(app, stop_timeout=30):
            await wait_for(lambda: int(clickhouse.command("SELECT count() FROM blocks FINAL")) == len(report.blocks),
                           what="simulated blocks")

    asyncio.run(scenario())
    stored = clickhouse.query("SELECT hash, height, coin, reward, status FROM blocks FINAL").result_rows
    assert sorted(stored) == sorted((b["hash"], b["height"], b["coin"], b["reward"], "found") for b in report.blocks)
    now = SystemClock()
    MaturityJob(clickhouse, SimulatedChain(chain_path, now), now).check()  # 300 s of 0.5 s blocks: old ones mature
    states = current(clickhouse)
    for b in report.blocks:
        status, depth = states[b["hash"]]
        if b["orphan"]:
            assert status == "orphaned"
        else:
            assert status in ("confirmed", "found") and depth > 0
            assert (status == "confirmed") == (depth >= coin_maturity(b["coin"]))
    assert any(s == "confirmed" for s, _ in states.values())
