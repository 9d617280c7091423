"""The attackers of the Stratum abuse bench (`bench.abuse`), one attack per process.

Each attack keeps a pool of loopback connections from its own source addresses (127.x.y.z: Linux routes the
whole 127/8 to `lo`, so every address is a distinct peer IP for the gateway), opens new ones at a bounded
rate, and does its thing on each open connection on a 10 ms tick. It reads and discards what the gateway
sends (an attacker that did not read would only fill its own socket buffers). `run()` is the process entry
point: it pins itself to one CPU when asked, attacks until `stop` is set, then puts its counters on `out`.

The attacks and their rates are `ATTACKS` below; `bench.abuse` prints them with the results.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TICK = 0.01
BTC_ADDR = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
LTC_ADDR = "ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a"

GARBAGE = (
    b"\x00\x01\x02\xff\xfe garbage \x7f\x80\n",
    b"GET / HTTP/1.1\r\n",
    b"{not json at all}\n",
    b'{"id": 1, "params": []}\n',  # no method
    b"[1, 2, 3]\n",
    b'{"id": 7, "method": "mining.bogus", "params": []}\n',
    b'{"id": 8, "method": "mining.submit", "params": "x"}\n',
    b"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" * 20 + b"\n",
    b'{"id": 9, "method": 42}\n',
)
SUBSCRIBE = b'{"id":1,"method":"mining.subscribe","params":["attacker/1.0"]}\n'


def addresses(second: int, count: int) -> list[str]:
    """`count` distinct loopback source addresses 127.<second>.y.z (never 127.0.0.1, the honest clients')."""
    return [f"127.{second}.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


@dataclass
class Attack:
    """One attack: where from, how many connections, how fast, and what each connection sends."""

    name: str
    what: str  # one line for the table: the load offered
    ips: list[str]
    conns: int  # connections kept open (churn: at most this many held, the oldest closed for new ones)
    connect_per_s: float  # new connections per second at most (reconnects included)
    lines_per_s: float = 0.0  # lines spread over the open (ready) connections
    churn: bool = False  # keep opening connections at `connect_per_s`, closing the oldest beyond `conns`
    hello: Callable[[Conn], bytes] | None = None  # sent on connect
    line: Callable[[Conn], bytes] | None = None  # one attack line for a ready connection
    needs_job: bool = False  # a connection is ready once it got a mining.notify
    drip_every_s: float = 0.0  # slowloris: one byte per connection this often
    stats: collections.Counter[str] = field(default_factory=collections.Counter)
    open_now: int = 0


class Conn(asyncio.Protocol):
    """One attacking connection; reads and discards, counts what it got."""

    def __init__(self, attack: Attack, n: int) -> None:
        self.a = attack
        self.n = n
        self.t: asyncio.Transport | None = None
        self.open = False
        self.gone = False  # closed, or the connect failed
        self.by_us = False
        self.job: list[Any] | None = None
        self.seq = 0
        self.dup = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.t = transport
        self.open = True
        self.a.open_now += 1
        self.a.stats["connections"] += 1
        if self.a.hello is not None:
            data = self.a.hello(self)
            transport.write(data)
            self.a.stats["bytes_sent"] += len(data)

    def data_received(self, data: bytes) -> None:
        st = self.a.stats
        st["answers"] += data.count(b"\n")
        st["error_answers"] += data.count(b'"error":[')
        if self.a.needs_job and b"mining.notify" in data:
            for raw in data.split(b"\n"):
                if b'"mining.notify"' in raw:
                    try:
                        msg = json.loads(raw)
                    except ValueError:
                        continue
                    if msg.get("method") == "mining.notify":
                        self.job = msg["params"]

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.gone = True
        self.a.open_now -= 1
        if not self.by_us:
            self.a.stats["closed_by_gateway"] += 1

    def send(self, data: bytes, lines: int) -> None:
        if self.t is not None and self.open:
            self.t.write(data)
            self.a.stats["bytes_sent"] += len(data)
            self.a.stats["lines_sent"] += lines

    def close(self) -> None:
        if self.t is not None and self.open:
            self.by_us = True
            self.t.close()


# -- what the attacks send ---------------------------------------------------------------------------
def _garbage(c: Conn) -> bytes:
    c.seq += 1
    return GARBAGE[(c.n + c.seq) % len(GARBAGE)]


def _oversized(c: Conn) -> bytes:
    return b'{"id":1,"method":"mining.subscribe","params":["' + b"A" * (1 << 20)  # 1 MiB, no newline


def _slow_hello(c: Conn) -> bytes:
    return b'{"id":1,"method":"mining.subscribe","params":["'


def _login(c: Conn) -> bytes:
    return SUBSCRIBE + b'{"id":2,"method":"mining.authorize","params":["%s.att%d","x"]}\n' % (BTC_ADDR.encode(), c.n)


def _bad_share(c: Conn) -> bytes:
    """Submits an honest pool would see from a broken or hostile rig: random nonces (mostly below the share
    target: the gateway must hash them), unknown job ids, duplicates, and submits for a worker never
    authorized."""
    assert c.job is not None
    c.seq += 1
    job, ntime, user = c.job[0], c.job[7], f"{BTC_ADDR}.att{c.n}"
    kind = c.seq % 5
    if kind == 0:
        return b'{"id":%d,"method":"mining.submit","params":["%s","ffffffff","%08x","%s","%08x"]}\n' % (
            c.seq, user.encode(), c.seq, ntime.encode(), c.seq)
    if kind == 1:
        if not c.dup:
            c.dup = b'{"id":3,"method":"mining.submit","params":["%s","%s","ffffffff","%s","00000001"]}\n' % (
                user.encode(), job.encode(), ntime.encode())
        return c.dup
    if kind == 2:
        return b'{"id":%d,"method":"mining.submit","params":["%s.nobody","%s","%08x","%s","%08x"]}\n' % (
            c.seq, BTC_ADDR.encode(), job.encode(), c.seq, ntime.encode(), c.seq)
    return b'{"id":%d,"method":"mining.submit","params":["%s","%s","%08x","%s","%08x"]}\n' % (
        c.seq, user.encode(), job.encode(), c.seq, ntime.encode(), random.getrandbits(32))


def _authorize(c: Conn) -> bytes:
    """Authorize calls: bad addresses, the wrong coin, bad passwords, and ever new workers of a good address."""
    c.seq += 1
    kind = c.seq % 6
    user = {
        0: f"x{c.seq:x}notanaddress",
        1: f"{LTC_ADDR}.w{c.seq}",  # an LTC address on the SHA256d port
        2: f"{BTC_ADDR}.w{c.n}",  # a good user, over and over
        3: f"{BTC_ADDR}.storm{c.n}x{c.seq}",  # a new worker every time
        4: "1" * 99 + f".{c.seq}",
        5: f"{BTC_ADDR}.w{c.n}",
    }[kind]
    password = ("x", "d=abc", "d=-1", "d=1e400", "", "d=0.5")[c.seq % 6]
    return json.dumps({"id": c.seq + 10, "method": "mining.authorize", "params": [user, password]}).encode() + b"\n"


def attacks_for(seconds: float) -> dict[str, Attack]:
    """The attacks of the bench, by scenario name (fresh counters each call)."""
    return {
        "garbage": Attack("garbage", "20,000 garbage lines/s over 8 connections from 1 IP (reconnects <= 200/s)",
                          addresses(20, 1), 8, 200, 20_000, line=_garbage),
        "oversized": Attack("oversized", "20 lines of 1 MiB without newline per s (20 MiB/s), 4 connections, 1 IP",
                            addresses(21, 1), 4, 20, hello=_oversized),
        "slowloris": Attack("slowloris", "5,000 connections from 64 IPs, never a full line, 1 byte per 2 s each",
                            addresses(22, 64), 5_000, 2_000, hello=_slow_hello, drip_every_s=2.0),
        "slowloris_control": Attack("slowloris_control", "the slowloris attack aimed at a bare accept-and-read "
                                    "server in another process, not at the gateway", addresses(28, 64), 5_000,
                                    2_000, hello=_slow_hello, drip_every_s=2.0),
        "flood_1ip": Attack("flood_1ip", "2,000 new connections/s from 1 IP, each subscribes; 1,500 held, oldest "
                            "closed", addresses(23, 1), 1_500, 2_000, churn=True, hello=lambda c: SUBSCRIBE),
        "flood_many": Attack("flood_many", "2,000 new connections/s from 256 IPs, each subscribes; 1,500 held, "
                             "oldest closed", addresses(24, 256), 1_500, 2_000, churn=True,
                             hello=lambda c: SUBSCRIBE),
        "flood_many_control": Attack("flood_many_control", "the flood_many attack aimed at a bare accept-and-read "
                                     "server in another process, not at the gateway: what the attack costs the "
                                     "honest miners through this machine alone", addresses(27, 256), 1_500, 2_000,
                                     churn=True, hello=lambda c: SUBSCRIBE),
        "invalid_shares": Attack("invalid_shares", "10,000 bad submits/s (random nonces, unknown jobs, duplicates, "
                                 "unauthorized workers), 16 authorized connections from 4 IPs",
                                 addresses(25, 4), 16, 100, 10_000, hello=_login, line=_bad_share, needs_job=True),
        "authorize_storm": Attack("authorize_storm", "10,000 mining.authorize/s (bad addresses, wrong coin, bad "
                                  "passwords, new workers), 8 connections from 2 IPs",
                                  addresses(26, 2), 8, 100, 10_000, hello=lambda c: SUBSCRIBE, line=_authorize),
    }


# -- the attack loop ------------------------------------------------------------------------------------
async def _attack(a: Attack, port: int, stopped: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    held: collections.deque[Conn] = collections.deque()
    connecting = 0
    budget = carry = drip = 0.0
    rr = n = ticks = 0

    async def open_one(conn: Conn, ip: str) -> None:
        nonlocal connecting
        try:
            await loop.create_connection(lambda: conn, "127.0.0.1", port, local_addr=(ip, 0))
        except OSError:
            a.stats["connect_failed"] += 1
            conn.gone = True
        finally:
            connecting -= 1

    next_t = loop.time()
    while not stopped():
        ticks += 1
        if ticks % 10 == 0:
            held = collections.deque(c for c in held if not c.gone)
        budget = min(budget + a.connect_per_s * TICK, max(1.0, a.connect_per_s * 0.05))
        while budget >= 1 and connecting < 256:
            if a.churn:
                while len(held) >= a.conns:
                    held.popleft().close()
            elif a.open_now + connecting >= a.conns:
                break
            n += 1
            conn = Conn(a, n)
            held.append(conn)
            connecting += 1
            loop.create_task(open_one(conn, a.ips[n % len(a.ips)]))
            budget -= 1
        if a.line is not None and a.lines_per_s:
            ready = [c for c in held if c.open and (c.job is not None or not a.needs_job)]
            carry = min(carry + a.lines_per_s * TICK, a.lines_per_s * 0.05)
            if ready and carry >= 1:
                k = int(carry)
                carry -= k
                per, extra = divmod(k, len(ready))
                for i, c in enumerate(ready):
                    m = per + (1 if i < extra else 0)
                    if m:
                        c.send(b"".join([a.line(c) for _ in range(m)]), m)
        if a.drip_every_s and held:
            drip += len(held) * TICK / a.drip_every_s
            while drip >= 1:
                drip -= 1
                rr = (rr + 1) % len(held)
                held[rr].send(b"A", 0)
        next_t += TICK
        await asyncio.sleep(max(0.0, next_t - loop.time()))
    for c in held:
        c.close()
    await asyncio.sleep(0.2)


def sink(ready: Any, stop: Any) -> None:
    """Process entry point of the control target: a bare server that accepts, reads and discards, and closes
    when the peer does (plain sockets and a selector: about the least work a server can do per connection).
    Puts its port on `ready`, serves until `stop` is set."""
    import selectors
    import socket

    sel = selectors.DefaultSelector()
    lsock = socket.create_server(("127.0.0.1", 0), backlog=4096)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ)
    ready.put(lsock.getsockname()[1])
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            sock = key.fileobj
            if sock is lsock:
                for _ in range(128):
                    try:
                        conn, _addr = lsock.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ)
                continue
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(sock)
                sock.close()


def _shifted(ip: str, by: int) -> str:
    """127.a.b.c -> 127.(a + by).b.c"""
    first, second, rest = ip.split(".", 2)
    return f"{first}.{int(second) + by}.{rest}"


ROUND_SHIFT = 10  # each round attacks from 127.<second + 10 * round>.y.z: fresh addresses, no ban carried over


def run(name: str, port: int, seconds: float, cpu: int | None, stop: Any, out: Any, round_no: int = 0) -> None:
    """Process entry point: attack `port` with the attack `name` until `stop` (a multiprocessing Event) is
    set, then put the counters (and this process's CPU seconds) on `out`. Round `round_no` attacks from
    addresses of its own, so the bans of an earlier round do not refuse it at once."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    attack = attacks_for(seconds)[name]
    attack.ips = [_shifted(ip, ROUND_SHIFT * round_no) for ip in attack.ips]
    asyncio.run(_attack(attack, port, stop.is_set))
    times = os.times()
    result = dict(attack.stats)
    result["cpu_s"] = times.user + times.system
    out.put(result)
