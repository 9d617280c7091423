"""The Stratum gateway against a miner written here (hashlib only, none of the gateway's code) and the real
embedded broker: shares mined for real at tiny difficulty are accepted, bad ones get the right error codes,
and every submit shows up on the `shares` topic."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bus.config import client_config
from bus.publisher import Publisher, PublisherSettings
from schemas.algorithms import Algorithm
from schemas.block import decode_block
from schemas.clock import SystemClock
from schemas.config import SettingsError
from schemas.share import Share, batch_to_shares, decode_message
from schemas.topics import TopicNames
from sources.stratum import JobSource, PortSettings, StratumGateway, StratumSettings, serve
from tests.conftest import unique

DIFF1 = {"sha256d": 0xFFFF << 208, "scrypt": 0xFFFF << 224}
BTC_ADDR = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
LTC_ADDR = "ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a"
DOGE_ADDR = "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L"
SHA_DIFF = 2.0**-20  # target ~2^244: one sha256d hash in 4096 meets it
SCRYPT_DIFF = 2.0**-12  # target ~2^252: one scrypt hash in 16


# -- an independent miner ----------------------------------------------------------------------------
def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def pow_hash(algorithm: str, header: bytes) -> bytes:
    if algorithm == "scrypt":
        return hashlib.scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
    return sha256d(header)


@dataclasses.dataclass
class Work:
    job_id: str
    prevhash: str
    coinb1: str
    coinb2: str
    branch: list[str]
    version: str
    nbits: str
    ntime: str
    clean: bool

    def header(self, en1: str, en2: str, nonce: int) -> bytes:
        root = sha256d(bytes.fromhex(self.coinb1 + en1 + en2 + self.coinb2))
        for b in self.branch:
            root = sha256d(root + bytes.fromhex(b))
        ph = bytes.fromhex(self.prevhash)
        prev = b"".join(ph[i : i + 4][::-1] for i in range(0, 32, 4))
        return (
            bytes.fromhex(self.version)[::-1] + prev + root + bytes.fromhex(self.ntime)[::-1]
            + bytes.fromhex(self.nbits)[::-1] + nonce.to_bytes(4, "little")
        )  # fmt: skip


def meets(algorithm: str, header: bytes, difficulty: float) -> bool:
    target = int(DIFF1[algorithm] / difficulty)
    return int.from_bytes(pow_hash(algorithm, header), "little") <= target


def find_nonce(
    algorithm: str, work: Work, en1: str, en2: str, difficulty: float, good: bool = True, start: int = 0
) -> int:
    for nonce in range(start, start + 1_000_000):
        if meets(algorithm, work.header(en1, en2, nonce), difficulty) == good:
            return nonce
    raise AssertionError("no nonce found")


class Miner:
    """A minimal Stratum V1 client: JSON lines over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.notes: list[tuple[str, list[Any]]] = []
        self._id = 0
        self.en1 = ""
        self.en2_size = 0

    @classmethod
    async def connect(cls, port: int) -> Miner:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float = 5.0) -> dict[str, Any] | None:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            return None
        msg: dict[str, Any] = json.loads(line)
        if msg.get("method"):
            self.notes.append((msg["method"], msg["params"]))
        return msg

    async def call(self, method: str, params: list[Any]) -> dict[str, Any]:
        self._id += 1
        await self.send_raw(json.dumps({"id": self._id, "method": method, "params": params}).encode() + b"\n")
        return await self.response(self._id)

    async def response(self, msg_id: Any) -> dict[str, Any]:
        while True:
            msg = await self.read()
            assert msg is not None, "connection closed"
            if msg.get("id") == msg_id and "method" not in msg:
                return msg

    async def wait_note(self, method: str, count: int = 1) -> list[Any]:
        while sum(1 for m, _ in self.notes if m == method) < count:
            msg = await self.read()
            assert msg is not None, "connection closed"
        return [p for m, p in self.notes if m == method][count - 1]

    def work(self) -> Work:
        return Work(*[p for m, p in self.notes if m == "mining.notify"][-1])

    async def login(self, user: str, password: str = "x", agent: str = "cpuminer/2.5.1") -> Work:
        sub = await self.call("mining.subscribe", [agent])
        (subs, self.en1, self.en2_size) = sub["result"]
        assert [s[0] for s in subs] == ["mining.set_difficulty", "mining.notify"]
        auth = await self.call("mining.authorize", [user, password])
        assert auth["result"] is True, auth
        await self.wait_note("mining.notify")
        return self.work()

    async def submit(self, user: str, work: Work, en2: str, nonce: int) -> dict[str, Any]:
        return await self.call("mining.submit", [user, work.job_id, en2, work.ntime, f"{nonce:08x}"])

    async def closed(self, timeout: float = 5.0) -> bool:
        try:
            while True:
                if await self.read(timeout) is None:
                    return True
        except (ConnectionError, TimeoutError):
            return isinstance(self.reader.exception(), ConnectionError) if self.reader.exception() else False

    def close(self) -> None:
        self.writer.close()


# -- harness -------------------------------------------------------------------------------------------
def settings(**overrides: Any) -> StratumSettings:
    ports = (
        PortSettings(Algorithm.SHA256D, 0, start_difficulty=SHA_DIFF, min_difficulty=1e-12,
                     max_difficulty=SHA_DIFF, nbits=0x1D00FFFF),
        PortSettings(Algorithm.SCRYPT, 0, start_difficulty=SCRYPT_DIFF, min_difficulty=1e-12,
                     max_difficulty=SCRYPT_DIFF, nbits=0x1E0FFFF0),
    )  # fmt: skip
    base: dict[str, Any] = dict(ports=ports, share_flush_ms=20.0)
    base.update(overrides)
    return StratumSettings(**base)


def run_gateway(
    kafka: str, topics: TopicNames, cfg: StratumSettings, body: Callable[[StratumGateway], Awaitable[None]],
    job_source: JobSource | None = None,
) -> None:
    async def main() -> None:
        pub = Publisher(PublisherSettings(kafka))
        gw = await serve(cfg, pub, topics, SystemClock(), job_source)
        try:
            await asyncio.wait_for(body(gw), 60)
        finally:
            await gw.close()
            pub.close()

    asyncio.run(main())


def consume(kafka: str, topic: str, done: Callable[[list[bytes]], bool], timeout: float = 20.0) -> list[bytes]:
    # assign() rather than subscribe(): reads every partition from the start without a group rebalance
    consumer = Consumer(client_config(kafka, **{"group.id": unique("g"), "enable.auto.commit": False}))
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(out) and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                out.append(msg.value())
    finally:
        consumer.close()
    return out


def shares_on(kafka: str, topics: TopicNames, expect: int) -> list[Share]:
    def rows(msgs: list[bytes]) -> list[Share]:
        return [s for m in msgs for s in batch_to_shares(decode_message(m))]

    return rows(consume(kafka, topics.shares, lambda msgs: len(rows(msgs)) >= expect))


async def settles(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    """True once `condition()` holds (polled), False if it still does not after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def error_code(resp: dict[str, Any]) -> int | None:
    err = resp.get("error")
    if err is None:
        return None
    assert isinstance(err, list) and len(err) == 3 and isinstance(err[1], str) and err[2] is None, err
    return int(err[0])


# -- tests ----------------------------------------------------------------------------------------------
def test_real_shares_accepted_and_bad_ones_rejected_with_codes(kafka: str, topics: TopicNames) -> None:
    async def body(gw: StratumGateway) -> None:
        for alg, addr, diff in (("sha256d", BTC_ADDR, SHA_DIFF), ("scrypt", LTC_ADDR, SCRYPT_DIFF)):
            m = await Miner.connect(gw.port(Algorithm.parse(alg)))
            user = f"{addr}.rig1"
            work = await m.login(user)
            # set_difficulty comes before the first notify, with the port's start difficulty
            assert [n for n, _ in m.notes][:2] == ["mining.set_difficulty", "mining.notify"]
            assert m.notes[0][1] == [diff]
            assert work.clean is True
            for i in range(3):
                en2 = f"{i:0{2 * m.en2_size}x}"
                nonce = find_nonce(alg, work, m.en1, en2, diff)
                assert (await m.submit(user, work, en2, nonce)) == {"id": m._id, "result": True, "error": None}
            nonce = find_nonce(alg, work, m.en1, "00" * m.en2_size, diff)
            assert error_code(await m.submit(user, work, "00" * m.en2_size, nonce)) == 22
            bad = find_nonce(alg, work, m.en1, "ff" * m.en2_size, diff, good=False)
            assert error_code(await m.submit(user, work, "ff" * m.en2_size, bad)) == 23
            unknown = dataclasses.replace(work, job_id="deadbeef")
            assert error_code(await m.submit(user, unknown, "01" * m.en2_size, 1)) == 21
            assert error_code(await m.submit(f"{addr}.other", work, "02" * m.en2_size, 1)) == 24
            assert error_code(await m.submit(user, work, "0102", 1)) == 20  # wrong extranonce2 size
            m.close()

        # not subscribed -> 25; an unknown method -> 20; a malformed line -> 20, connection kept
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        assert error_code(await m.call("mining.submit", [BTC_ADDR, "1", "00000000", "00000000", "0"])) == 25
        assert error_code(await m.call("mining.bogus", [])) == 20
        await m.send_raw(b'{"id": 7, "method": "mining.subscribe", params: oops}\n')
        msg = await m.read()
        assert msg is not None and msg["id"] is None and error_code(msg) == 20
        version = await m.call("client.get_version", [])
        assert version["result"].startswith("poolstream/")
        conf = await m.call("mining.configure", [["version-rolling"], {"version-rolling.mask": "1fffe000"}])
        assert conf["result"] == {"version-rolling": False}
        assert (await m.call("mining.extranonce.subscribe", []))["result"] is True
        # an oversize line: error 20, then the gateway closes the connection
        await m.send_raw(b'{"id": 9, "method": "' + b"x" * 5000 + b'"}\n')
        msg = await m.read()
        assert msg is not None and error_code(msg) == 20 and "too long" in msg["error"][1].lower()
        assert await m.read() is None
        m.close()

    run_gateway(kafka, topics, settings(), body)

    # 2 algorithms x (3 accepted + duplicate + low + unknown job + unauthorized + malformed) + 1 not subscribed
    shares = shares_on(kafka, topics, expect=17)
    assert len(shares) == 17
    for alg, addr, diff in (("sha256d", BTC_ADDR, SHA_DIFF), ("scrypt", LTC_ADDR, SCRYPT_DIFF)):
        mine = [s for s in shares if s.algorithm == alg and s.miner == addr and s.worker == "rig1"]
        results = sorted(s.result for s in mine)
        assert results == sorted(["accepted"] * 3 + ["duplicate", "low_difficulty", "invalid", "malformed"]), results
        for s in mine:
            assert s.worker == "rig1" and s.ip == "127.0.0.1" and s.hardware == "cpu"
            assert s.coin == ("BTC" if alg == "sha256d" else "LTC")  # rejected ones too: the worker is known
        accepted = [s for s in mine if s.result == "accepted"]
        assert all(s.difficulty == diff and s.network_difficulty > 0 and s.job_id for s in accepted)
        assert {s.extranonce2 for s in accepted} == {f"{i:08x}" for i in range(3)}
    unauthorized = [s for s in shares if s.result == "unauthorized"]
    assert len(unauthorized) == 3 and sum(s.worker == "other" for s in unauthorized) == 2
    assert all(s.coin == "" for s in unauthorized)  # never authorized: no coin

    jobs = [json.loads(v) for v in consume(kafka, topics.jobs, lambda msgs: len(msgs) >= 2)]
    assert {j["algorithm"] for j in jobs} == {"sha256d", "scrypt"}
    assert all(len(j["merkle_branch"]) == 2 and j["clean_jobs"] for j in jobs)


def test_block_candidate_published_and_clean_job_follows(kafka: str, topics: TopicNames) -> None:
    cfg = settings()
    regtest = tuple(dataclasses.replace(p, nbits=0x207FFFFF) for p in cfg.ports)
    cfg = dataclasses.replace(cfg, ports=regtest)

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        work = await m.login(f"{BTC_ADDR}.rig9")
        nonce = find_nonce("sha256d", work, m.en1, "00" * 4, SHA_DIFF)
        assert (await m.submit(f"{BTC_ADDR}.rig9", work, "00" * 4, nonce))["result"] is True
        new = Work(*(await m.wait_note("mining.notify", 2)))
        assert new.clean is True and new.prevhash != work.prevhash
        # the new tip is the block just found: its hash, word-swapped as notify sends prevhash
        block_hash = sha256d(work.header(m.en1, "00" * 4, nonce))
        swapped = b"".join(block_hash[i : i + 4][::-1] for i in range(0, 32, 4))
        assert new.prevhash == swapped.hex()
        stale = await m.submit(f"{BTC_ADDR}.rig9", work, "01" * 4, nonce)
        assert error_code(stale) == 21
        m.close()

    run_gateway(kafka, topics, cfg, body)
    blocks = [decode_block(v) for v in consume(kafka, topics.blocks, lambda msgs: len(msgs) >= 1)]
    assert len(blocks) == 1
    b = blocks[0]
    assert b.miner == BTC_ADDR and b.worker == "rig9" and b.status == "found" and b.algorithm == "sha256d"
    assert b.coin == "BTC"
    header = bytes.fromhex(b.header_hex)
    assert sha256d(header)[::-1].hex() == b.hash and b.height == 840_000 and b.reward > 0
    shares = shares_on(kafka, topics, expect=2)
    assert sorted(s.result for s in shares) == ["accepted", "stale"]
    assert {s.coin for s in shares} == {"BTC"}


def test_vardiff_raises_difficulty_then_notifies(kafka: str, topics: TopicNames) -> None:
    cfg = settings()
    ports = (dataclasses.replace(cfg.ports[0], max_difficulty=1.0),)
    cfg = dataclasses.replace(cfg, ports=ports, vardiff_target_s=5.0, vardiff_retarget_s=20.0)

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        user = f"{BTC_ADDR}.fast"
        work = await m.login(user)
        for i in range(8):  # 8 shares in well under a second: far faster than one per 5 s
            en2 = f"{i:08x}"
            assert (await m.submit(user, work, en2, find_nonce("sha256d", work, m.en1, en2, SHA_DIFF)))["result"]
        new_diff = (await m.wait_note("mining.set_difficulty", 2))[0]
        assert new_diff > SHA_DIFF
        await m.wait_note("mining.notify", 2)  # the new difficulty applies from the next notify
        assert [n for n, _ in m.notes][-2:] == ["mining.set_difficulty", "mining.notify"]
        assert m.work().job_id != work.job_id  # the new difficulty comes with a fresh job_id
        # right after the change, a share of the job sent before it, meeting only the old difficulty,
        # still counts (at the old one): the miner may still be working on that job
        for i in range(100, 200):
            en2 = f"{i:08x}"
            nonce = find_nonce("sha256d", work, m.en1, en2, SHA_DIFF)
            if not meets("sha256d", work.header(m.en1, en2, nonce), new_diff):
                assert (await m.submit(user, work, en2, nonce))["result"] is True
                break
        m.close()

    run_gateway(kafka, topics, cfg, body)


def test_difficulty_is_bound_to_the_job_it_was_announced_with(kafka: str, topics: TopicNames) -> None:
    """Regression (found with the real cpuminer 2.5.1): cpuminer applies `mining.set_difficulty` only when a
    notify brings a NEW job_id, and keeps hashing its current job at the difficulty that job came with.
    Two quick vardiff raises used to make its valid shares "Low difficulty" (only one previous difficulty
    was remembered). Now every job_id a connection saw keeps its own difficulty, a difficulty change comes
    with a fresh job_id, and shares are credited at the difficulty of their job (never more)."""
    cfg = settings()
    ports = (dataclasses.replace(cfg.ports[0], max_difficulty=1.0),)
    cfg = dataclasses.replace(cfg, ports=ports, vardiff_target_s=5.0, vardiff_retarget_s=20.0)

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        user = f"{BTC_ADDR}.cpu"
        first = await m.login(user)
        d0 = (await m.wait_note("mining.set_difficulty"))[0]
        n = 0

        async def mine_first_job(count: int) -> None:  # shares meeting d0 only, all on the first job
            nonlocal n
            for _ in range(count):
                n += 1
                en2 = f"{n:08x}"
                nonce = find_nonce("sha256d", first, m.en1, en2, d0)
                while meets("sha256d", first.header(m.en1, en2, nonce), 8 * d0):
                    n += 1
                    en2 = f"{n:08x}"
                    nonce = find_nonce("sha256d", first, m.en1, en2, d0)
                resp = await m.submit(user, first, en2, nonce)
                assert resp["result"] is True, resp

        await mine_first_job(8)  # a burst: vardiff raises the difficulty
        d1 = (await m.wait_note("mining.set_difficulty", 2))[0]
        assert d1 > d0
        await m.wait_note("mining.notify", 2)
        assert [n for n, _ in m.notes][-2:] == ["mining.set_difficulty", "mining.notify"]
        second = m.work()
        assert second.job_id != first.job_id  # a fresh job_id, so miners that wait for one switch now
        await mine_first_job(24)  # cpuminer still on its first job at d0: accepted, not another raise
        assert sum(1 for n, _ in m.notes if n == "mining.set_difficulty") == 2
        # the new job carries the new difficulty: a share meeting only d0 on it is low difficulty
        en2 = "ffff0000"
        low = find_nonce("sha256d", second, m.en1, en2, d0)
        while meets("sha256d", second.header(m.en1, en2, low), d1):
            low = find_nonce("sha256d", second, m.en1, en2, d0, start=low + 1)
        assert error_code(await m.submit(user, second, en2, low)) == 23
        en2 = "ffff0001"
        good = find_nonce("sha256d", second, m.en1, en2, d1)
        assert (await m.submit(user, second, en2, good))["result"] is True
        m.close()

    run_gateway(kafka, topics, cfg, body)
    shares = shares_on(kafka, topics, expect=34)
    accepted = [s for s in shares if s.result == "accepted"]
    assert len(accepted) == 33 and [s.result for s in shares].count("low_difficulty") == 1
    d0 = SHA_DIFF
    first_job = [s for s in accepted if s.difficulty == d0]
    assert len(first_job) == 32  # credited at the first job's difficulty, never at the raised one
    assert len({s.job_id for s in first_job}) == 1
    assert [s.difficulty for s in accepted if s.difficulty != d0] == [8 * d0]


def test_password_difficulty_and_address_check(kafka: str, topics: TopicNames) -> None:
    cfg = settings()
    ports = (dataclasses.replace(cfg.ports[0], max_difficulty=1.0),)
    cfg = dataclasses.replace(cfg, ports=ports)

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        await m.call("mining.subscribe", ["bmminer/2.0.0"])
        assert error_code(await m.call("mining.authorize", [LTC_ADDR + ".w", "x"])) == 24  # wrong coin
        assert error_code(await m.call("mining.authorize", ["not-an-address", "x"])) == 24
        assert (await m.call("mining.authorize", [BTC_ADDR, "d=0.001"]))["result"] is True
        assert (await m.wait_note("mining.set_difficulty"))[0] == 0.001
        m.close()

    run_gateway(kafka, topics, cfg, body)


def test_connection_limits_idle_timeout_and_ban(kafka: str, topics: TopicNames) -> None:
    cfg = settings(max_connections_per_ip=2, idle_timeout_s=0.6, ban_check_after=4, ban_invalid_percent=50.0,
                   ban_time_s=60.0)

    async def body(gw: StratumGateway) -> None:
        port = gw.port(Algorithm.SHA256D)
        a, b = await Miner.connect(port), await Miner.connect(port)
        await a.call("client.get_version", [])
        await b.call("client.get_version", [])
        c = await Miner.connect(port)
        assert await c.closed(2.0)  # third connection from one IP: refused
        assert await a.closed(3.0)  # a and b go silent: idle timeout
        assert await b.closed(3.0)
        assert await settles(lambda: gw.connection_count == 0)  # the door reports its count within ~50 ms

        m = await Miner.connect(port)
        user = f"{BTC_ADDR}.bad"
        work = await m.login(user)
        for i in range(4):
            en2 = f"{i:08x}"
            bad = find_nonce("sha256d", work, m.en1, en2, SHA_DIFF, good=False)
            assert error_code(await m.submit(user, work, en2, bad)) == 23
        assert await m.closed(2.0)  # 4 of 4 invalid: banned
        again = await Miner.connect(port)
        assert await again.closed(2.0)

    run_gateway(kafka, topics, cfg, body)


def test_coin_of_the_authorized_address_is_in_every_share(kafka: str, topics: TopicNames) -> None:
    """Dogecoin and Litecoin rigs share the scrypt port; each share (accepted or not) carries its coin."""

    async def body(gw: StratumGateway) -> None:
        port = gw.port(Algorithm.SCRYPT)
        for addr in (DOGE_ADDR, LTC_ADDR):
            m = await Miner.connect(port)
            user = f"{addr}.rig"
            work = await m.login(user)  # a DOGE address authorizes on the scrypt port
            nonce = find_nonce("scrypt", work, m.en1, "00" * 4, SCRYPT_DIFF)
            assert (await m.submit(user, work, "00" * 4, nonce))["result"] is True
            assert error_code(await m.submit(user, work, "00" * 4, nonce)) == 22  # duplicate: rejected early
            bad = find_nonce("scrypt", work, m.en1, "01" * 4, SCRYPT_DIFF, good=False)
            assert error_code(await m.submit(user, work, "01" * 4, bad)) == 23  # low difficulty: after hashing
            m.close()
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        await m.call("mining.subscribe", ["cpuminer/2.5.1"])
        assert error_code(await m.call("mining.authorize", [f"{DOGE_ADDR}.rig", "x"])) == 24  # not sha256d
        m.close()

    run_gateway(kafka, topics, settings(), body)
    shares = shares_on(kafka, topics, expect=6)
    assert len(shares) == 6
    for addr, coin in ((DOGE_ADDR, "DOGE"), (LTC_ADDR, "LTC")):
        mine = [s for s in shares if s.miner == addr]
        assert sorted(s.result for s in mine) == ["accepted", "duplicate", "low_difficulty"]
        assert {s.coin for s in mine} == {coin} and {s.algorithm for s in mine} == {"scrypt"}


def test_port_in_use_is_one_line_naming_the_variable(kafka: str, topics: TopicNames) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    number = taken.getsockname()[1]
    cfg = settings()
    cfg = dataclasses.replace(cfg, ports=(dataclasses.replace(cfg.ports[1], port=number),))

    async def main() -> None:
        pub = Publisher(PublisherSettings(kafka))
        try:
            with pytest.raises(SettingsError) as caught:
                await serve(cfg, pub, topics, SystemClock())
        finally:
            pub.close()
        message = str(caught.value)
        assert f"port {number}" in message and "in use" in message and "STRATUM_SCRYPT_PORT" in message
        assert "\n" not in message

    try:
        asyncio.run(main())
    finally:
        taken.close()
