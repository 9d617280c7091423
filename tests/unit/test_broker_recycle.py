"""The embedded broker's recycling: the produce gate, the relay, and when a recycle may run."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest

from bus.broker_stats import BrokerStats
from poolstream.broker_gate import KafkaRelay, ProduceGate, produce_acks
from poolstream.broker_recycle import Snapshot


def frame(api_key: int, version: int, corr: int, body: bytes, client_id: bytes = b"cli") -> bytes:
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    if version >= 9 and api_key == 0:
        header += b"\x00"  # no tagged fields
    return header + body


@pytest.mark.parametrize(("version", "acks"), [(0, 1), (2, 0), (3, -1), (7, 1), (8, 0), (9, -1), (11, 0)])
def test_produce_acks_every_version(version: int, acks: int) -> None:
    if version >= 9:
        body = b"\x04txn" + struct.pack(">h", acks)  # compact nullable string: length + 1
    elif version >= 3:
        body = struct.pack(">h", -1) + struct.pack(">h", acks)  # null transactional id
    else:
        body = struct.pack(">h", acks)
    assert produce_acks(frame(0, version, 7, body + b"rest")) == acks


def test_gate_close_waits_for_answers_and_holds_new_produce() -> None:
    async def scenario() -> None:
        gate = ProduceGate()
        await gate.admit(True)  # one Produce in flight
        closing = asyncio.create_task(gate.close(2.0))
        await asyncio.sleep(0.05)
        assert not closing.done()  # the broker has not answered yet
        held = asyncio.create_task(gate.admit(True))
        await asyncio.sleep(0.05)
        assert gate.held == 1 and not held.done()
        gate.answered()
        assert await closing is True
        assert not held.done()  # still held while closed
        gate.open()
        await held
        assert gate.held == 0

    asyncio.run(scenario())


def test_gate_close_times_out_when_unanswered() -> None:
    async def scenario() -> None:
        gate = ProduceGate()
        await gate.admit(True)
        assert await gate.close(0.05) is False
        gate.open()

    asyncio.run(scenario())


def test_relay_passes_frames_and_counts_produce_answers() -> None:
    """Against an echo 'broker' that answers every request with its correlation id."""
    async def scenario() -> None:
        async def broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                try:
                    size = int.from_bytes(await reader.readexactly(4), "big")
                except asyncio.IncompleteReadError:
                    return
                body = await reader.readexactly(size)
                answer = body[4:8] + b"ok"
                writer.write(len(answer).to_bytes(4, "big") + answer)
                await writer.drain()

        server = await asyncio.start_server(broker, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        gate = ProduceGate()
        relay = KafkaRelay("127.0.0.1", 0, lambda: ("127.0.0.1", port), gate)
        await relay.start()
        assert relay._server is not None
        relay_port = relay._server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", relay_port)
        for corr in (1, 2):
            body = frame(0, 3, corr, struct.pack(">hh", -1, -1)) if corr == 1 else frame(3, 1, corr, b"")
            writer.write(len(body).to_bytes(4, "big") + body)
        await writer.drain()
        answers = []
        for _ in range(2):
            size = int.from_bytes(await reader.readexactly(4), "big")
            answers.append(await reader.readexactly(size))
        assert answers == [(1).to_bytes(4, "big") + b"ok", (2).to_bytes(4, "big") + b"ok"]
        assert await gate.close(1.0) is True  # the produce was answered
        gate.open()
        writer.close()
        await relay.stop()
        server.close()

    asyncio.run(scenario())


def test_recycle_blocked_by_lag_rebalancing_and_unread_topics() -> None:
    snap = Snapshot(partitions={"shares": 2, "shares.rejected": 1},
                    ends={("shares", 0): 10, ("shares", 1): 5, ("shares.rejected", 0): 3},
                    committed={"poolstream": {("shares", 0): 10, ("shares", 1): 4}})
    assert "1 messages behind on shares[1]" in snap.blocker(0, frozenset({"shares.rejected"}))
    assert snap.blocker(5, frozenset({"shares.rejected"})) == ""  # within the pre-check's lag
    snap.committed["poolstream"][("shares", 1)] = 5
    assert snap.blocker(0, frozenset({"shares.rejected"})) == ""
    assert snap.unconsumed() == {"shares.rejected": 3}
    assert "shares.rejected holds 3 messages" in snap.blocker(0, frozenset())  # not disposable: kept
    snap.rebalancing.add("poolstream")
    assert "rebalancing" in snap.blocker(0, frozenset({"shares.rejected"}))


def test_assigned_but_uncommitted_group_counts_as_a_reader() -> None:
    snap = Snapshot(partitions={"shares": 1}, ends={("shares", 0): 7}, assigned={"poolstream": {"shares"}})
    assert snap.unconsumed() == {}
    assert "7 messages behind" in snap.blocker()


def test_broker_warning_near_the_limit_and_when_stale() -> None:
    now = time.time()
    stats = BrokerStats(rss_bytes=850, limit_bytes=1000, updated=now, blocked="group g is 9 messages behind")
    warning = stats.warning(now)
    assert warning is not None and "85%" in warning and "group g" in warning
    assert BrokerStats(rss_bytes=100, limit_bytes=1000, updated=now).warning(now) is None
    assert "old" in (BrokerStats(rss_bytes=1, limit_bytes=1000, updated=now - 120).warning(now) or "")


def test_a_busy_group_is_allowed_what_it_consumes_in_a_moment() -> None:
    """A group that commits once a second is always about a second behind a busy producer: the pre-check
    allows its recent rate x catch-up time on top of `max_lag`."""
    snap = Snapshot(partitions={"shares": 1}, ends={("shares", 0): 1_500}, committed={"poolstream": {("shares", 0): 1_000}})
    assert "500 messages behind" in snap.blocker(100)
    assert snap.blocker(100, allowance={"poolstream": 450.0}) == ""
    assert snap.blocker(100, allowance={"other": 450.0}) != ""


def record_batch(records: int) -> bytes:
    """A v2 record batch header (+ padding) holding `records` records."""
    batch = bytearray(61)
    struct.pack_into(">qi", batch, 0, 0, len(batch) - 12)
    batch[16] = 2  # magic
    struct.pack_into(">i", batch, 23, records - 1)  # lastOffsetDelta
    return bytes(batch)


@pytest.mark.parametrize("version", [3, 9])
def test_produce_counts_records_per_partition(version: int) -> None:
    from poolstream.broker_gate import produce_counts

    records = record_batch(5) + record_batch(3)
    if version >= 9:  # compact: lengths and counts as varint n + 1, tagged fields after each struct
        body = frame(0, version, 1, b"\x00" + struct.pack(">hi", -1, 1000) + bytes([2, 7]) + b"shares" + bytes([2])
                     + struct.pack(">i", 2) + bytes([len(records) + 1]) + records + b"\x00\x00\x00")
    else:
        body = frame(0, version, 1, struct.pack(">hhi", -1, -1, 1000) + struct.pack(">ih", 1, 6) + b"shares"
                     + struct.pack(">iii", 1, 2, len(records)) + records)
    assert produce_counts(body) == [("shares", 2, 8)]
