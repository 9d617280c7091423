"""The agent runtime without Faust: order of effects, batch boundaries, pipelining, replays, supervision."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import REGISTRY

from streams.runtime import BatchLimits, Take
from streams.supervision import AgentState
from tests.unit.streams.fakes import Source, drive, message, messages, rig


def test_dead_letters_flushed_before_the_write_and_the_write_before_the_ack() -> None:
    r = rig()
    source = Source([[message(0), message(1, b"bad")]], r.log)  # a short take: the stream went quiet
    assert asyncio.run(drive(r, source)) == [2]
    assert r.log == ["prepare [0, 1]", "dead letter shares/0/1", "flush", "write [0]", "written [0]",
                     "ack [0, 1]"]
    assert r.handler.tokens == [r.handler.tokens[0]] and r.handler.tokens[0].startswith("t:")
    assert r.status.state is AgentState.STOPPED and r.runtime.batches == 1


def test_batch_boundaries_rows_time_and_quiet() -> None:
    # rows: full takes of 3 messages x 2 rows; 12 >= max_rows 10 after the second
    r = rig(limits=BatchLimits(max_messages=3, max_rows=10, flush_interval_s=10.0), rows_per_message=2)
    assert asyncio.run(drive(r, Source([messages(0, 1, 2), messages(3, 4, 5), messages(6)], r.log))) == [6, 1]

    # time: full takes keep coming, the batch is flushed once its first take is flush_interval_s old
    r = rig(limits=BatchLimits(max_messages=2, max_rows=1_000, flush_interval_s=0.5))
    source = Source([messages(0, 1), messages(2, 3), messages(4, 5), messages(6)], r.log, r.clock,
                    gaps=[0.0, 0.3, 0.3, 0.0])
    assert asyncio.run(drive(r, source)) == [6, 1]

    # a stop: a full take not yet due stays unacked (replayed at the next start)
    r = rig(limits=BatchLimits(max_messages=2, max_rows=1_000, flush_interval_s=10.0))
    source = Source([messages(0), messages(1, 2)], r.log)
    assert asyncio.run(drive(r, source)) == [1]
    assert source.acked == [0]


def test_pipelined_batches_become_durable_and_are_acked_in_order() -> None:
    release = threading.Event()
    r = rig(block_write=release)

    async def scenario() -> None:
        source = Source([messages(0), messages(1), messages(2)], r.log)
        run = asyncio.ensure_future(drive(r, source))
        while "prepare [1]" not in r.log:  # batch 1 is checked while batch 0's write is held
            await asyncio.sleep(0.01)
        assert "written [0]" not in r.log and source.acked == []
        release.set()
        assert await run == [1, 1, 1]
        assert source.acked == [0, 1, 2]

    asyncio.run(scenario())
    writes = [line for line in r.log if line.startswith(("write", "written", "ack"))]
    assert writes == ["write [0]", "written [0]", "ack [0]", "write [1]", "written [1]", "ack [1]",
                      "write [2]", "written [2]", "ack [2]"]
    assert r.log.index("prepare [1]") < r.log.index("written [0]")


def test_a_failing_write_is_retried_with_backoff_and_acked_only_when_durable() -> None:
    r = rig(fail={"write": 4})
    before = REGISTRY.get_sample_value("poolstream_agent_failures_total", {"agent": "test-agent"}) or 0.0
    source = Source([messages(0, 1)], r.log)
    asyncio.run(drive(r, source))
    assert r.log.count("write [0, 1]") == 5 and r.handler.written == [[0, 1]]
    assert r.log[-1] == "ack [0, 1]" and source.acked == [0, 1]
    assert r.clock.sleeps == [0.1, 0.2, 0.4, 0.4]  # doubling, capped
    assert r.status.failures == 4 and r.status.reason is None
    assert REGISTRY.get_sample_value("poolstream_agent_failures_total", {"agent": "test-agent"}) == before + 4
    assert len(set(r.handler.tokens)) == 1  # the same dedup token on every attempt


def test_replayed_offsets_are_skipped_but_acked() -> None:
    replayed: list[tuple[str, int]] = []
    r = rig(watermarks=lambda topic: {0: 4}, replayed=replayed)
    source = Source([messages(3, 4, 5), messages(6)], r.log)
    asyncio.run(drive(r, source))
    assert r.handler.written == [[5, 6]]
    assert source.acked == [3, 4, 5, 6] and replayed == [("shares", 2)]

    r = rig(watermarks=lambda topic: {0: 9})  # a batch of replays only: nothing written, all acked
    source = Source([messages(7, 8)], r.log)
    asyncio.run(drive(r, source))
    assert r.log == ["ack [7, 8]"] and r.runtime.batches == 0


def test_a_failing_step_makes_the_agent_failing_with_the_reason_until_it_succeeds() -> None:
    r = rig(fail={"checks": 2})
    seen: list[tuple[AgentState, str | None]] = []
    original = r.clock.sleep

    async def sleep(seconds: float) -> None:
        seen.append((r.status.state, r.status.reason))
        await original(seconds)

    r.runtime._sleep = sleep  # observe the status while the step waits to be retried
    source = Source([messages(0)], r.log)
    asyncio.run(drive(r, source))
    assert seen == [(AgentState.FAILING, "checks: RuntimeError: checks broke")] * 2
    assert r.handler.written == [[0]] and source.acked == [0]
    assert REGISTRY.get_sample_value("poolstream_agent_up", {"agent": "test-agent"}) == 0.0  # stopped now


def test_dead_letters_that_cannot_be_delivered_are_routed_again_before_the_write() -> None:
    r = rig()
    r.producer.fail_flushes = 1
    source = Source([[message(0, b"bad"), message(1)]], r.log)
    asyncio.run(drive(r, source))
    assert r.log == ["prepare [0, 1]", "dead letter shares/0/0", "dead letter shares/0/0", "flush",
                     "write [1]", "written [1]", "ack [0, 1]"]


def test_an_agent_whose_task_dies_says_so_and_does_not_consume_again() -> None:
    r = rig()

    async def scenario() -> None:
        source = Source([messages(0), messages(1)], r.log)

        async def broken():  # type: ignore[no-untyped-def]
            async for take in Source.takes(source):
                yield take
                raise ConnectionResetError("stream broke")

        source.takes = broken  # type: ignore[method-assign]
        with pytest.raises(ConnectionResetError):
            await drive(r, source)
        await r.runtime.stored()
        assert r.status.state is AgentState.DEAD
        assert r.status.reason == "ConnectionResetError: stream broke"
        assert REGISTRY.get_sample_value("poolstream_agent_up", {"agent": "test-agent"}) == 0.0
        again = asyncio.ensure_future(drive(r, Source([messages(2)], r.log)))
        await asyncio.sleep(0.05)
        assert not again.done()  # parked: storing offset 2 would let a replay skip what was lost
        again.cancel()

    asyncio.run(scenario())
    assert r.handler.written == [[0]]


def test_a_full_take_followed_by_silence_is_flushed_after_the_interval() -> None:
    """The last take of a burst can fill `max_messages` exactly; nothing more may ever come. The batch is
    written and acked after `flush_interval_s` anyway, while the source is still waiting for messages."""
    r = rig(limits=BatchLimits(max_messages=2, max_rows=1_000, flush_interval_s=0.05))

    class Silent(Source):
        async def takes(self):  # type: ignore[no-untyped-def]
            yield Take(messages(0, 1))
            await asyncio.Event().wait()  # a quiet topic
            yield Take(messages(2))  # pragma: no cover - never reached

    async def scenario() -> list[int]:
        source = Silent([], r.log)
        counts: list[int] = []

        async def consume() -> None:
            async for n in r.runtime.run(source):
                counts.append(n)

        task = asyncio.ensure_future(consume())
        for _ in range(100):
            await asyncio.sleep(0.02)
            if source.acked:
                break
        await r.runtime.stored()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert source.acked == [0, 1]
        return counts

    assert asyncio.run(scenario()) == [2]
    assert "write [0, 1]" in r.log
