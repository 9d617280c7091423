"""Abuse of the Stratum gateway, one attack per test, each from its own loopback address (127.x.y.z: Linux
routes all of 127/8 to `lo`, so each is a distinct peer IP): every attack gets its documented answer (a
JSON-RPC error, a closed connection, a ban), counted in a metric, while an honest miner from 127.0.0.1 on
the same gateway keeps getting its shares accepted. Limits are set low so each test is quick; how much an
attack costs honest miners is measured by `python -m bench abuse`, never asserted here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import REGISTRY

from schemas.algorithms import Algorithm
from schemas.topics import TopicNames
from sources.stratum import PortSettings, StratumGateway, StratumSettings
from tests.integration.test_stratum_gateway import (
    BTC_ADDR,
    LTC_ADDR,
    Miner,
    error_code,
    find_nonce,
    run_gateway,
    settles,
)

DIFF = 2.0**-30  # one hash in four meets it: quick to mine, and a random nonce is usually below it


def abuse_settings(**overrides: Any) -> StratumSettings:
    port = PortSettings(Algorithm.SHA256D, 0, start_difficulty=DIFF, min_difficulty=DIFF, max_difficulty=DIFF,
                        nbits=0x1D00FFFF)
    base: dict[str, Any] = dict(ports=(port,), share_flush_ms=20.0)
    base.update(overrides)
    return StratumSettings(**base)


def counted(family: str, reason: str) -> float:
    return REGISTRY.get_sample_value(f"poolstream_stratum_{family}_total", {"reason": reason}) or 0.0


async def counted_soon(family: str, reason: str, want: Callable[[float], bool]) -> bool:
    """`want(count)` holds within 2 s: the door process reports its counters every ~0.5 s."""
    return await settles(lambda: want(counted(family, reason)))


async def banned_soon(gw: StratumGateway, ip: str) -> bool:
    """The gateway knows `ip` is banned within 2 s (the door tells it of the bans it decides)."""
    return await settles(lambda: gw.admission.is_banned(ip))


async def connect_from(ip: str, port: int) -> Miner:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ip, 0), limit=1 << 21)
    return Miner(reader, writer)


async def last_words(m: Miner, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Everything the gateway sends until it closes the connection (fails if it does not)."""
    out = []
    while True:
        try:
            msg = await m.read(timeout)
        except ConnectionError:
            return out
        if msg is None:
            return out
        out.append(msg)


async def refused(ip: str, port: int) -> bool:
    """A connection from `ip` is closed at once, without a word."""
    try:
        m = await connect_from(ip, port)
    except ConnectionError:
        return True
    return await closed_now(m)


async def closed_now(m: Miner) -> bool:
    """The gateway closed this connection (it sent nothing: an eviction)."""
    try:
        return await m.reader.read(1) == b""
    except ConnectionError:
        return True


class HonestMiner:
    """Mines for real from 127.0.0.1 (the attackers never use that address) and counts its verdicts."""

    def __init__(self) -> None:
        self.accepted = 0
        self.rejected: list[dict[str, Any]] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self, port: int) -> None:
        self.task = asyncio.create_task(self._run(port))

    async def _run(self, port: int) -> None:
        m = await Miner.connect(port)
        user = f"{BTC_ADDR}.honest"
        work = await m.login(user)
        n = 0
        while not self.stop.is_set():
            n += 1
            en2 = f"{n:08x}"
            resp = await m.submit(user, work, en2, find_nonce("sha256d", work, m.en1, en2, DIFF))
            if resp.get("result") is True:
                self.accepted += 1
            else:
                self.rejected.append(resp)
            await asyncio.sleep(0.005)
        m.close()

    async def keeps_mining(self, more: int = 5) -> None:
        """Wait until `more` further shares were accepted (the attack is still on)."""
        target = self.accepted + more
        while self.accepted < target:
            assert self.task is not None and not self.task.done(), "the honest miner stopped"
            await asyncio.sleep(0.01)
        assert not self.rejected, self.rejected

    async def finish(self) -> None:
        self.stop.set()
        assert self.task is not None
        await self.task


def under_attack(kafka: str, topics: TopicNames, cfg: StratumSettings,
                 attack: Callable[[StratumGateway, int, HonestMiner], Awaitable[None]]) -> None:
    """Run `attack` against a gateway while an honest miner mines on it."""

    async def body(gw: StratumGateway) -> None:
        port = gw.port(Algorithm.SHA256D)
        honest = HonestMiner()
        honest.start(port)
        await honest.keeps_mining(2)
        await attack(gw, port, honest)
        await honest.keeps_mining(3)
        await honest.finish()
        assert not gw.admission.is_banned("127.0.0.1")

    run_gateway(kafka, topics, cfg, body)


# -- the attacks ----------------------------------------------------------------------------------------
def test_garbage_lines_get_errors_then_the_connection_closes(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("protocol_errors", "malformed"), counted("refused_connections", "too_many_errors")
        m = await connect_from("127.10.0.1", port)
        await m.send_raw(b"\x00\xff garbage\n")
        msg = await m.read()
        assert msg is not None and msg["id"] is None and error_code(msg) == 20  # the connection survives one
        assert "Malformed" in msg["error"][1]
        assert error_code(await m.call("mining.bogus", [])) == 20
        await honest.keeps_mining()
        await m.send_raw(b"GET / HTTP/1.1\r\n" * 10 + b"[1,2]\n{nope}\n")
        words = await last_words(m)  # the error budget (5) is spent: the gateway says why and closes
        assert [error_code(w) for w in words] == [20] * len(words)
        assert "Too many errors" in words[-1]["error"][1]
        assert await counted_soon("protocol_errors", "malformed", lambda v: v > before[0])
        assert await counted_soon("refused_connections", "too_many_errors", lambda v: v == before[1] + 1)

    under_attack(kafka, topics, abuse_settings(max_errors=5), attack)


def test_an_oversized_line_closes_at_once_and_repeats_ban_the_ip(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("refused_connections", "line_too_long")
        for i in range(3):  # a 1 MiB line without newline, three times: three strikes (more than 2): banned
            m = await connect_from("127.11.0.1", port)
            with contextlib.suppress(ConnectionError):
                await m.send_raw(b'{"id":1,"method":"mining.subscribe","params":["' + b"A" * (1 << 20))
            words = await last_words(m)
            if i < 2:
                assert words and "Line too long" in words[-1]["error"][1]
        assert await counted_soon("refused_connections", "line_too_long", lambda v: v == before + 3)
        await honest.keeps_mining()
        assert await banned_soon(gw, "127.11.0.1")
        assert await refused("127.11.0.1", port)

    under_attack(kafka, topics, abuse_settings(ban_strikes=2), attack)


def test_slowloris_and_silent_connections_time_out(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("refused_connections", "line_timeout"), counted("refused_connections", "login_timeout")
        drip = await connect_from("127.12.0.1", port)  # starts a line and never finishes it
        await drip.send_raw(b'{"id":1,"method":"mining.subscribe","params":["')
        silent = await connect_from("127.12.0.2", port)  # subscribes, never authorizes
        await silent.call("mining.subscribe", ["idle/1.0"])
        for _ in range(5):
            await drip.send_raw(b"A")
            await honest.keeps_mining(1)
        words = await last_words(drip)
        assert "Line not finished in time" in words[-1]["error"][1]
        words = await last_words(silent)
        assert "authorized in time" in words[-1]["error"][1]
        assert await counted_soon("refused_connections", "line_timeout", lambda v: v == before[0] + 1)
        assert await counted_soon("refused_connections", "login_timeout", lambda v: v == before[1] + 1)

    under_attack(kafka, topics, abuse_settings(line_timeout_s=0.5, login_timeout_s=0.8), attack)


def test_a_connection_flood_from_one_ip_is_rate_limited_then_banned(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("refused_connections", "connect_rate"), counted("bans", "abuse")
        held = [await connect_from("127.13.0.1", port) for _ in range(4)]  # the burst is allowed
        for m in held:
            await m.call("mining.subscribe", ["flood/1.0"])
        results = [await refused("127.13.0.1", port) for _ in range(6)]
        assert all(results)  # beyond the burst: closed at once
        assert await counted_soon("refused_connections", "connect_rate", lambda v: v > before[0])
        assert await banned_soon(gw, "127.13.0.1")
        assert await counted_soon("bans", "abuse", lambda v: v == before[1] + 1)
        for m in held:  # the ban closed the connections it already had, saying why
            words = await last_words(m)
            assert "Banned" in words[-1]["error"][1]
        await honest.keeps_mining()

    cfg = abuse_settings(max_connections_per_ip=4, connect_rate_per_ip=0.1, ban_strikes=3)
    under_attack(kafka, topics, cfg, attack)


def test_a_flood_from_many_ips_evicts_idle_connections_not_miners(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("refused_connections", "evicted")
        # the gateway holds 8: the honest miner (authorized) and 7 idle ones; each further one evicts the
        # oldest idle connection
        flood = [await connect_from(f"127.14.0.{i + 1}", port) for i in range(12)]
        await honest.keeps_mining()
        for m in flood[:5]:
            assert await closed_now(m)
        assert await counted_soon("refused_connections", "evicted", lambda v: v == before + 5)
        newcomer = await Miner.connect(port)  # a new miner still gets in: the oldest idle one makes room
        work = await newcomer.login(f"{BTC_ADDR}.newcomer")
        nonce = find_nonce("sha256d", work, newcomer.en1, "00000000", DIFF)
        assert (await newcomer.submit(f"{BTC_ADDR}.newcomer", work, "00000000", nonce))["result"] is True
        assert await closed_now(flood[5])
        assert await settles(lambda: gw.connection_count == 8)
        for m in flood:
            m.close()
        newcomer.close()

    under_attack(kafka, topics, abuse_settings(max_connections=8), attack)


def test_invalid_share_floods_are_banned(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("bans", "invalid_shares")
        m = await connect_from("127.15.0.1", port)
        user = f"{BTC_ADDR}.bad"
        work = await m.login(user)
        lines = []
        for i in range(10):  # below the share target, unknown jobs and duplicates, pipelined in one write
            en2 = f"{i:08x}"
            bad = find_nonce("sha256d", work, m.en1, en2, DIFF, good=False)
            lines.append(f'{{"id":{100 + i},"method":"mining.submit","params":["{user}","{work.job_id}","{en2}",'
                         f'"{work.ntime}","{bad:08x}"]}}\n')
            lines.append(f'{{"id":{200 + i},"method":"mining.submit","params":["{user}","ffffffff","{en2}",'
                         f'"{work.ntime}","00000000"]}}\n')
        await m.send_raw("".join(lines).encode())
        words = await last_words(m)
        codes = {error_code(w) for w in words if w.get("id") is not None}
        assert codes <= {21, 23} and "Banned" in words[-1]["error"][1]
        assert gw.admission.is_banned("127.15.0.1")
        assert await counted_soon("bans", "invalid_shares", lambda v: v == before + 1)
        assert await refused("127.15.0.1", port)
        # submits without authorizing: errors 25/24, then the error budget closes the connection
        u = await connect_from("127.15.0.2", port)
        assert error_code(await u.call("mining.submit", [user, "1", "00000000", work.ntime, "00000000"])) == 25
        await u.call("mining.subscribe", ["x"])
        assert error_code(await u.call("mining.submit", [user, "1", "00000000", work.ntime, "00000000"])) == 24
        await u.send_raw(b'{"id":9,"method":"mining.submit","params":["x","1","00000000","0","0"]}\n' * 5)
        assert "Too many errors" in (await last_words(u))[-1]["error"][1]
        await honest.keeps_mining()

    under_attack(kafka, topics, abuse_settings(ban_check_after=10, max_errors=5), attack)


def test_authorize_storms_are_limited(kafka: str, topics: TopicNames) -> None:
    async def attack(gw: StratumGateway, port: int, honest: HonestMiner) -> None:
        before = counted("protocol_errors", "authorize_failed"), counted("protocol_errors", "authorize_rate")
        m = await connect_from("127.16.0.1", port)
        await m.call("mining.subscribe", ["storm/1.0"])
        for i in range(3):  # up to the worker limit (3), bad passwords being no reason to refuse
            assert (await m.call("mining.authorize", [f"{BTC_ADDR}.w{i}", "d=abc"]))["result"] is True
        too_many = await m.call("mining.authorize", [f"{BTC_ADDR}.w9", "x"])
        assert error_code(too_many) == 24 and "Too many workers" in too_many["error"][1]
        again = await m.call("mining.authorize", [f"{BTC_ADDR}.w0", "x"])  # a burst of 3, then 1 per 10 s
        assert error_code(again) == 20 and "Too many authorize requests" in again["error"][1]
        assert await counted_soon("protocol_errors", "authorize_rate", lambda v: v == before[1] + 1)
        await honest.keeps_mining()
        s = await connect_from("127.16.0.2", port)
        await s.call("mining.subscribe", ["storm/1.0"])
        assert error_code(await s.call("mining.authorize", ["not-an-address", "x"])) == 24
        assert error_code(await s.call("mining.authorize", [f"{LTC_ADDR}.w", "x"])) == 24  # wrong coin
        assert await counted_soon("protocol_errors", "authorize_failed", lambda v: v == before[0] + 2)
        storm = b"".join(b'{"id":%d,"method":"mining.authorize","params":["bad%d","x"]}\n' % (i, i) for i in range(20))
        await s.send_raw(storm)
        words = await last_words(s)  # every limit spent an error: the budget (6) runs out, the gateway closes
        assert "Too many errors" in words[-1]["error"][1]
        assert len(words) < 20  # the rest of the storm was not even read

    cfg = abuse_settings(max_workers_per_connection=3, authorize_rate_per_s=0.1, max_errors=6)
    under_attack(kafka, topics, cfg, attack)
