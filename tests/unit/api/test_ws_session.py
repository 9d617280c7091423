"""The WebSocket session and hub without a server: fake sockets, fake feeds, an injectable clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from api.errors import Unauthorized
from api.security import ANONYMOUS, Permission, Principal, Tier
from api.security_events import EVENTS
from api.ws import protocol
from api.ws.hub import Feeds, Hub
from api.ws.protocol import MinerData, ProtocolError, StatsData
from api.ws.session import CLOSE_POLICY, CLOSE_TRY_LATER, RateLimit, Session

ADDRESS = "bc1qminerone000000000000000000000000000"


class FakeSocket:
    """Frames in through `inbox`; sent texts in `sent`. `stuck` makes every send hang (a client that reads
    nothing: its TCP window is full)."""

    def __init__(self, *, stuck: bool = False) -> None:
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.stuck = stuck
        self.arrived = asyncio.Event()

    async def send_text(self, data: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(data)
        self.arrived.set()

    async def receive_frame(self) -> str | bytes | None:
        return await self.inbox.get()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.sent]

    async def next_of(self, kind: str, timeout: float = 2.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                for m in self.messages():
                    if m["type"] == kind:
                        self.sent.remove(json.dumps(m, separators=(",", ":")))
                        return m
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), timeout)


class FakeAuth:
    async def resolve(self, token: str) -> Principal:
        if token != "good":
            raise Unauthorized("unknown or revoked token")
        return Principal(subject="alice", permissions=frozenset({Permission.READ}), tier=Tier.AUTHENTICATED,
                         method="api_key")


class FakeMiners:
    def __init__(self) -> None:
        self.accepted = 1
        self.rate = 1.0

    async def poll(self, addresses: Sequence[str]) -> Mapping[str, MinerData]:
        self.rate += 1.0  # the hashrate drifts at every poll (the window slides)
        return {a: MinerData(address=a, hashrate=self.rate, balance=0.0, shares_accepted=self.accepted,
                             shares_rejected=0, last_share=None) for a in addresses}


def session(socket: FakeSocket, hub: Hub, *, queue: int = 16, per_min: int = 100, now: list[float] | None = None,
            caller: Principal = ANONYMOUS) -> Session:
    clock = (lambda: now[0]) if now is not None else (lambda: 0.0)
    return Session(socket, hub, caller, queue_size=queue, messages_per_min=per_min, authenticator=FakeAuth(),
                   clock=clock)


def test_rate_limit_is_a_token_bucket_refilled_over_a_minute() -> None:
    now = [0.0]
    limit = RateLimit(3, lambda: now[0])
    assert [limit.allow() for _ in range(4)] == [True, True, True, False]
    assert limit.excess == 1 and limit.retry_after_s == pytest.approx(20.0)
    now[0] = 20.0  # a third of a minute: one message back
    assert limit.allow() and not limit.allow()


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ("{not json", "not a valid message"),
        (b"\xff\xfe", "not a valid message"),
        ('{"type": 5}', "not a valid message"),
        ('{"channels": ["stats"]}', "not a valid message"),
        ('{"type": "dance"}', "unknown message type"),
        ('{"type": "subscribe"}', "non-empty `channels`"),
        ('{"type": "subscribe", "channels": ["weather"]}', "unknown channel"),
        ('{"type": "subscribe", "channels": [7]}', "not a valid message"),
        ('{"type": "subscribe", "channels": ["miner:short"]}', "malformed miner address"),
        ('{"type": "subscribe", "channels": ["miner:' + "a" * 101 + '"]}', "malformed miner address"),
        ('{"type": "auth"}', "needs a `token`"),
        ("x" * 9000, "longer than"),
    ],
)
def test_bad_messages_get_an_error_message_and_the_connection_stays(frame: str | bytes, fragment: str) -> None:
    async def main() -> None:
        hub = Hub(Feeds())
        socket = FakeSocket()
        s = session(socket, hub)
        await s.handle(frame)
        await s.handle('{"type": "ping"}')
        assert s.closed is None
        error = json.loads(s._queue.get_nowait())
        assert error["type"] == "error" and error["error"]["code"] == "INVALID_REQUEST"
        assert fragment in error["error"]["message"]
        assert json.loads(s._queue.get_nowait()) == {"type": "pong"}

    asyncio.run(main())


def test_hardware_needs_read_and_auth_grants_it() -> None:
    async def main() -> None:
        hub = Hub(Feeds())
        s = session(FakeSocket(), hub)
        before = EVENTS.counts()["unauthorized"]
        await s.handle('{"type": "subscribe", "channels": ["stats", "hardware"]}')
        refused = json.loads(s._queue.get_nowait())
        assert refused["error"]["code"] == "UNAUTHORIZED" and s.channels == set()  # all or nothing
        await s.handle('{"type": "auth", "token": "bad"}')
        assert json.loads(s._queue.get_nowait())["error"]["code"] == "UNAUTHORIZED"
        assert EVENTS.counts()["unauthorized"] == before + 2
        await s.handle('{"type": "auth", "token": "good"}')
        answer = json.loads(s._queue.get_nowait())
        assert answer == {"type": "auth", "data": {"authenticated": True, "subject": "alice",
                                                    "tier": "authenticated", "permissions": ["read"]}}
        await s.handle('{"type": "subscribe", "channels": ["stats", "hardware", "miner:' + ADDRESS + '"]}')
        assert json.loads(s._queue.get_nowait())["channels"] == ["hardware", "miner:" + ADDRESS, "stats"]
        assert hub.listeners("hardware") == 1 and hub.listeners("miner:" + ADDRESS) == 1
        await s.handle('{"type": "unsubscribe", "channels": ["hardware"]}')
        assert json.loads(s._queue.get_nowait()) == {"type": "unsubscribed",
                                                     "channels": ["miner:" + ADDRESS, "stats"]}
        assert hub.listeners("hardware") == 0

    asyncio.run(main())


def test_check_access_says_forbidden_to_an_authenticated_caller_without_read() -> None:
    nobody = Principal(subject="w", method="worker_token")
    with pytest.raises(ProtocolError) as caught:
        protocol.check_access("hardware", nobody)
    assert caught.value.body.code == "FORBIDDEN"
    protocol.check_access("miner:" + ADDRESS, ANONYMOUS)  # public, like REST /miners/{address}


def test_over_the_rate_limit_answers_rate_limited_then_closes_when_grossly_exceeded() -> None:
    async def main() -> None:
        now = [0.0]
        socket = FakeSocket()
        s = session(socket, Hub(Feeds()), per_min=5, queue=64, now=now)
        for _ in range(5):
            await s.handle('{"type": "ping"}')
        await s.handle('{"type": "ping"}')
        answers = [json.loads(s._queue.get_nowait()) for _ in range(6)]
        assert answers[:5] == [{"type": "pong"}] * 5
        assert answers[5]["error"]["code"] == "RATE_LIMITED" and answers[5]["error"]["details"]["retry_after_s"] > 0
        now[0] = 12.0  # one message allowed again after 60/5 s
        await s.handle('{"type": "ping"}')
        assert json.loads(s._queue.get_nowait()) == {"type": "pong"} and s.closed is None
        for _ in range(5):
            await s.handle('{"type": "ping"}')
        assert s.closed is not None and s.closed[0] == CLOSE_POLICY and "rate limit" in s.closed[1]

    asyncio.run(main())


def test_a_slow_consumer_is_dropped_without_stalling_the_others() -> None:
    async def main() -> None:
        hub = Hub(Feeds())
        slow_socket, fast_socket = FakeSocket(stuck=True), FakeSocket()
        slow, fast = session(slow_socket, hub, queue=4), session(fast_socket, hub, queue=4)
        runs = [asyncio.create_task(slow.run()), asyncio.create_task(fast.run())]
        for s in (slow, fast):
            await s.handle('{"type": "subscribe", "channels": ["blocks"]}')
        await fast_socket.next_of("subscribed")
        for i in range(20):
            hub.publish("blocks", json.dumps({"type": "block", "data": {"height": i}}), keep=False)
            await asyncio.sleep(0)  # the fast client's sender runs between pushes
        assert slow.closed is not None and slow.closed[0] == CLOSE_TRY_LATER and "slow consumer" in slow.closed[1]
        assert hub.listeners("blocks") == 1  # only the fast one left
        await asyncio.wait_for(runs[0], 3.0)  # the slow session ended although its send never returns
        assert slow_socket.closed == (CLOSE_TRY_LATER, slow.closed[1])
        heights = [m["data"]["height"] for m in fast_socket.messages() if m["type"] == "block"]
        assert heights == list(range(20))
        fast_socket.inbox.put_nowait(None)  # the fast client leaves
        await asyncio.wait_for(runs[1], 3.0)
        assert hub.listeners("blocks") == 0 and fast_socket.closed is None

    asyncio.run(main())


def test_hub_pushes_stats_on_change_and_miners_when_they_change() -> None:
    async def main() -> None:
        stats = [StatsData(hashrate=1.0, miners=1, difficulty=65536.0)]
        miners = FakeMiners()
        hub = Hub(Feeds(stats=lambda: stats[0], miners=miners), poll_s=0.05, stats_s=0.05, drift_s=60.0)
        await hub.start()
        try:
            socket = FakeSocket()
            s = session(socket, hub)
            run = asyncio.create_task(s.run())
            await asyncio.sleep(0.1)  # the stats loop has read the snapshot
            await s.handle('{"type": "subscribe", "channels": ["stats", "miner:' + ADDRESS + '"]}')
            first = await socket.next_of("stats")  # the latest value, at once
            assert first["data"] == {"hashrate": 1.0, "miners": 1, "difficulty": 65536.0, "workers": 0,
                                     "updated_at": None}
            miner = await socket.next_of("miner")
            assert miner["channel"] == "miner:" + ADDRESS and miner["data"]["shares_accepted"] == 1
            assert set(miner["data"]) >= {"hashrate", "balance", "shares_accepted"}
            await asyncio.sleep(0.2)
            # unchanged stats, miner counts unchanged (its hashrate drifted, pushed at most every drift_s): silent
            assert not [m for m in socket.messages() if m["type"] in ("stats", "miner")]
            assert miners.rate > 4
            stats[0] = StatsData(hashrate=2.0, miners=3, difficulty=65536.0)
            miners.accepted = 2
            assert (await socket.next_of("stats"))["data"]["miners"] == 3
            assert (await socket.next_of("miner"))["data"]["shares_accepted"] == 2
            socket.inbox.put_nowait(None)
            await asyncio.wait_for(run, 2.0)
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_failing_feed_is_retried_and_does_not_end_the_hub() -> None:
    async def main() -> None:
        calls = [0]

        async def federation() -> dict[str, int]:
            calls[0] += 1
            if calls[0] == 1:
                raise RuntimeError("clickhouse away")
            return {"peers": 2}

        hub = Hub(Feeds(federation=federation), snapshot_s=0.02)
        await hub.start()
        try:
            socket = FakeSocket()
            s = session(socket, hub)
            run = asyncio.create_task(s.run())
            await s.handle('{"type": "subscribe", "channels": ["federation"]}')
            assert (await socket.next_of("federation"))["data"] == {"peers": 2}
            assert hub.errors == 1
            await hub.stop()
            await asyncio.wait_for(run, 2.0)  # stopping the hub closes its clients
            assert socket.closed is not None and socket.closed[0] == 1001
        finally:
            await hub.stop()

    asyncio.run(main())
