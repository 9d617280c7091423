"""The poller job against fake cgminer servers (no broker: a recording publisher): every rig polled, one Arrow
message per rig keyed by its miner, a failing rig counted and retried next run without failing the others."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import pyarrow as pa
import pytest

from schemas.clock import FixedClock
from schemas.telemetry import decode_payload
from sources.cgminer.hosts import Rig
from sources.cgminer.poller import POLL_ERRORS, CgminerPollJob, PollError, poll_rig
from tests.support_cgminer import FakeCgminer

MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.flushes = 0

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((topic, value, key))

    def flush(self, timeout: float = 30.0) -> None:
        self.flushes += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def errors(where: str) -> float:
    return POLL_ERRORS.labels(where)._value.get()  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["json", "pipe"])
def test_poll_rig_reads_every_command(mode: str) -> None:
    async def scenario() -> None:
        async with FakeCgminer(mode) as fake:
            readings = await poll_rig(Rig("127.0.0.1", fake.port, MINER, "s9"), 2.0, 7)
            assert fake.commands == ["summary", "devs", "stats", "pools"]
        assert [r.device_id for r in readings] == ["chain6", "chain7", "chain8"]
        assert {r.ts for r in readings} == {7}

    asyncio.run(scenario())


def test_job_publishes_per_rig_and_survives_a_failing_one() -> None:
    async def scenario() -> None:
        dead = Rig("127.0.0.1", free_port(), MINER, "dead")
        before = errors(dead.where)
        async with FakeCgminer("json") as s9, FakeCgminer("pipe", "whatsminer") as m30:
            rigs = [Rig("127.0.0.1", s9.port, MINER, "s9"), dead]

            async def registered() -> list[Rig]:
                return [Rig("127.0.0.1", m30.port, MINER, "m30"), Rig("127.0.0.1", s9.port, MINER, "dup")]

            recorder = Recorder()
            job = CgminerPollJob(rigs, recorder, "telemetry", FixedClock(NOW), interval_s=30, timeout_s=1.0,
                                 registered=registered)
            run = await job.run()
            assert run.polled == 3 and run.failed == [dead.where] and run.readings == 5
            assert errors(dead.where) == before + 1
            assert recorder.flushes == 1 and {t for t, _, _ in recorder.sent} == {"telemetry"}
            tables = [pa.Table.from_batches([decode_payload(v)]) for _, v, _ in recorder.sent]
            assert [t.column("worker")[0].as_py() for t in tables] == ["s9", "m30"]
            assert {k for _, _, k in recorder.sent} == {MINER.encode()}
            assert tables[1].column("power_w").to_pylist() == pytest.approx([2016.0, 1344.0])
            assert {int(t.column("ts").cast(pa.int64())[0].as_py()) for t in tables} == {int(NOW.timestamp() * 1000)}
            # next interval: the failing rig is tried again, and counted again
            s9.down = True
            again = await job.run()
            assert sorted(again.failed) == sorted([dead.where, f"127.0.0.1:{s9.port}"])
            assert errors(dead.where) == before + 2

    asyncio.run(scenario())


def test_unreachable_and_useless_rigs_raise_poll_error() -> None:
    async def scenario() -> None:
        with pytest.raises(PollError):
            await poll_rig(Rig("127.0.0.1", free_port(), MINER, "w"), 0.5, 1)
        async with FakeCgminer("json") as fake:
            fake.answers = {c: b"garbage\x00" for c in ("summary", "devs", "stats", "pools")}
            with pytest.raises(PollError, match="summary"):
                await poll_rig(Rig("127.0.0.1", fake.port, MINER, "w"), 0.5, 1)

    asyncio.run(scenario())


def test_registry_failure_still_polls_configured_rigs() -> None:
    async def scenario() -> None:
        async def broken() -> list[Rig]:
            raise RuntimeError("clickhouse down")

        async with FakeCgminer("json") as fake:
            job = CgminerPollJob([Rig("127.0.0.1", fake.port, MINER, "s9")], Recorder(), "t", FixedClock(NOW),
                                 interval_s=30, timeout_s=1.0, registered=broken)
            run = await job.run()
        assert run.polled == 1 and run.readings == 3 and run.failed == []

    asyncio.run(scenario())
