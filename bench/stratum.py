"""Stratum gateway bench: verified submits/s (SHA256d, scrypt) from many concurrent loopback clients, the
accepted rate and answer latency of 50 clients each with one submit in flight (a client waits for the answer
before its next submit: the shape where batching costs latency), and how many idle (subscribed, authorized)
connections the gateway holds.

The gateway runs in a child process (its own event loop and verify threads) publishing to an embedded
broker; this process drives the clients. Every submit is fully verified (coinbase -> merkle -> header ->
hash) and published as a share event; the share difficulty is set so low that every hash is accepted, so
each answer is one verified, accepted share. Run: `.venv/bin/python -c "import bench.stratum as b; b.run(10)"`.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from bus.admin import ensure_topics
from poolstream.broker import EmbeddedBroker, free_port
from schemas.topics import TopicNames

ROOT = Path(__file__).resolve().parents[1]
_decode = msgspec.json.Decoder(dict[str, Any]).decode
ADDR = {"sha256d": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "scrypt": "ltc1qg82tf9d5vj6h0w0qx6qnnnhjz8l3t05czh5d6a"}

GATEWAY = r"""
import asyncio, resource, sys
from schemas.algorithms import Algorithm
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from bus.publisher import Publisher, PublisherSettings
from sources.stratum import PortSettings, StratumSettings, serve
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
bootstrap, prefix, sha_port, scrypt_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tiny = 1e-30  # every hash meets it: each submit is hashed, compared and accepted
ports = (
    PortSettings(Algorithm.SHA256D, sha_port, start_difficulty=tiny, min_difficulty=tiny, max_difficulty=tiny,
                 nbits=0x1703A30C),
    PortSettings(Algorithm.SCRYPT, scrypt_port, start_difficulty=tiny, min_difficulty=tiny, max_difficulty=tiny,
                 nbits=0x1A0FFFFF),
)
settings = StratumSettings(ports=ports, max_connections=19_000, max_connections_per_ip=19_000, ban_time_s=0)
async def main():
    pub = Publisher(PublisherSettings(bootstrap, linger_ms=20))
    gw = await serve(settings, pub, TopicNames(prefix), SystemClock())
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await gw.close()
    print(json.dumps({"rows": gw.recorder.published_rows, "messages": gw.recorder.published_messages}), flush=True)
import json
asyncio.run(main())
"""


class Client(asyncio.Protocol):
    """Subscribes, authorizes, then keeps `window` submits in flight and counts the answers."""

    def __init__(self, user: str, window: int, mine: bool) -> None:
        self.user = user.encode()
        self.window = window
        self.mine = mine
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.job: tuple[bytes, bytes] | None = None
        self.counter = 0
        self.answers = 0
        self.errors = 0
        self.open = False
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open = True
        transport.write(
            b'{"id":1,"method":"mining.subscribe","params":["bench/1.0"]}\n'
            b'{"id":2,"method":"mining.authorize","params":["%s","x"]}\n' % self.user
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if not self.ready.done():
            self.ready.set_result(False)

    def _submits(self, n: int) -> bytes:
        assert self.job is not None
        job_id, ntime = self.job
        out = []
        for _ in range(n):
            self.counter += 1
            out.append(b'{"id":%d,"method":"mining.submit","params":["%s","%s","%08x","%s","00000000"]}\n'
                       % (self.counter, self.user, job_id, self.counter, ntime))
        return b"".join(out)

    def data_received(self, data: bytes) -> None:
        if self.job is None:
            self.buf += data
            *lines, self.buf = self.buf.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                if msg.get("method") == "mining.notify":
                    self.job = (msg["params"][0].encode(), msg["params"][7].encode())
                    if not self.ready.done():
                        self.ready.set_result(True)
                    if self.mine and self.transport is not None:
                        self.transport.write(self._submits(self.window))
            return
        n = data.count(b"\n")
        self.errors += data.count(b'"error":[')
        self.answers += n
        if self.mine and self.transport is not None and n:
            self.transport.write(self._submits(n))


class OneInFlight(asyncio.Protocol):
    """Subscribes, authorizes, then sends one submit at a time: the next goes when the answer to the last one
    arrived. Records each answer's latency (send to answer) and counts accepted and rejected answers."""

    def __init__(self, user: str) -> None:
        self.user = user.encode()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.job: tuple[bytes, bytes] | None = None
        self.counter = 0
        self.sent_at = 0.0
        self.latencies: list[float] = []
        self.accepted = 0
        self.rejected = 0
        self.mine = True
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b'{"id":1,"method":"mining.subscribe","params":["bench/1.0"]}\n'
            b'{"id":2,"method":"mining.authorize","params":["%s","x"]}\n' % self.user
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)

    def _submit(self) -> None:
        assert self.job is not None and self.transport is not None
        job_id, ntime = self.job
        self.counter += 1
        self.sent_at = time.perf_counter()
        self.transport.write(b'{"id":%d,"method":"mining.submit","params":["%s","%s","%08x","%s","00000000"]}\n'
                             % (self.counter + 2, self.user, job_id, self.counter, ntime))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        *lines, self.buf = (self.buf + data).split(b"\n")
        answered = False
        for line in lines:
            msg = _decode(line)  # msgspec: the client's own CPU is the gateway's competitor on these 2 cores
            if msg.get("method") == "mining.notify":
                self.job = (msg["params"][0].encode(), msg["params"][7].encode())
                if not self.ready.done():
                    self.ready.set_result(True)
                    self._submit()
            elif isinstance(msg.get("id"), int) and msg["id"] > 2:
                answered = True
                self.latencies.append(now - self.sent_at)
                if msg.get("result") is True:
                    self.accepted += 1
                else:
                    self.rejected += 1
        if answered and self.mine:
            self._submit()


async def _one_in_flight(port: int, algorithm: str, clients: int, seconds: float) -> dict[str, float]:
    """`clients` connections, each with one submit in flight: accepted/s and answer latency p50/p99."""
    loop = asyncio.get_running_loop()
    conns = []
    for i in range(clients):
        _, proto = await loop.create_connection(
            lambda i=i: OneInFlight(f"{ADDR[algorithm]}.one{i}"), "127.0.0.1", port  # type: ignore[misc]
        )
        conns.append(proto)
    await asyncio.gather(*(c.ready for c in conns))
    await asyncio.sleep(1.0)  # warm-up
    for c in conns:
        c.latencies.clear()
    a0, r0, t0 = sum(c.accepted for c in conns), sum(c.rejected for c in conns), time.perf_counter()
    await asyncio.sleep(seconds)
    a1, r1, t1 = sum(c.accepted for c in conns), sum(c.rejected for c in conns), time.perf_counter()
    lat = sorted(x for c in conns for x in c.latencies)
    for c in conns:
        c.mine = False
        if c.transport is not None:
            c.transport.close()
    await asyncio.sleep(0.5)
    name = f"{algorithm}_{clients}x1"
    return {
        f"{name}_accepted_per_s": (a1 - a0) / (t1 - t0),
        f"{name}_rejected": float(r1 - r0),
        f"{name}_answer_p50_us": lat[len(lat) // 2] * 1e6 if lat else float("nan"),
        f"{name}_answer_p99_us": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6 if lat else float("nan"),
    }


async def _throughput(port: int, algorithm: str, clients: int, window: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    conns = []
    for i in range(clients):
        _, proto = await loop.create_connection(
            lambda i=i: Client(f"{ADDR[algorithm]}.w{i}", window, mine=True), "127.0.0.1", port  # type: ignore[misc]
        )
        conns.append(proto)
    await asyncio.gather(*(c.ready for c in conns))
    await asyncio.sleep(1.0)  # warm-up (numba kernels load from cache, batches fill)
    a0, e0, t0 = sum(c.answers for c in conns), sum(c.errors for c in conns), time.perf_counter()
    await asyncio.sleep(seconds)
    a1, e1, t1 = sum(c.answers for c in conns), sum(c.errors for c in conns), time.perf_counter()
    for c in conns:
        c.mine = False
        if c.transport is not None:
            c.transport.close()
    await asyncio.sleep(0.5)
    return {f"{algorithm}_submits_per_s": (a1 - a0) / (t1 - t0), f"{algorithm}_rejected": float(e1 - e0)}


async def _idle(port: int, target: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    conns: list[Client] = []
    t0 = time.perf_counter()
    for start in range(0, target, 500):
        batch = []
        for i in range(start, min(target, start + 500)):
            try:
                _, proto = await loop.create_connection(
                    lambda i=i: Client(f"{ADDR['sha256d']}.idle{i}", 0, mine=False), "127.0.0.1", port  # type: ignore[misc]
                )
            except OSError:
                break
            batch.append(proto)
        conns += batch
        await asyncio.wait_for(asyncio.gather(*(c.ready for c in batch)), 60)
    setup = time.perf_counter() - t0
    await asyncio.sleep(3.0)
    held = sum(1 for c in conns if c.open and c.job is not None)
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    await asyncio.sleep(1.0)
    return {"idle_connections_held": float(held), "idle_connect_seconds": setup}


def run(seconds: float = 10.0) -> dict[str, float]:
    """Measure and print: SHA256d and scrypt verified submits/s, SHA256d accepted/s and answer latency with 50
    clients of one submit in flight, and idle connections held."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    idle_target = min(10_000, hard - 2_000)
    topics = TopicNames(prefix=f"bench{os.getpid()}.")
    figures: dict[str, float] = {}
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, topics.all(), partitions=4)
        sha_port, scrypt_port = free_port(), free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", GATEWAY, broker.bootstrap, topics.prefix, str(sha_port), str(scrypt_port)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stdin is not None
            if proc.stdout.readline().strip() != "READY":
                raise RuntimeError("the gateway did not start")

            async def drive() -> None:
                figures.update(await _throughput(sha_port, "sha256d", 64, 512, seconds))
                figures.update(await _one_in_flight(sha_port, "sha256d", 50, seconds))
                figures.update(await _throughput(scrypt_port, "scrypt", 32, 64, seconds))
                figures.update(await _idle(sha_port, idle_target))

            asyncio.run(drive())
            proc.stdin.close()
            tail = proc.stdout.readline()
            if tail.strip():
                figures["shares_published"] = float(json.loads(tail)["rows"])
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    for name, value in figures.items():
        print(f"stratum  {name:32s} {value:14,.0f}")
    return figures


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
