"""`python -m bench api [--shares N] [--seconds S]`: API read throughput and latency with N shares stored.

1. A server process (`python -m bench.api serve DIR PORT`) opens a fresh chDB database, loads N shares with
   `INSERT INTO shares SELECT ... FROM numbers(...)` (the bucket views fill as in production) from 10,000
   workers of 1,000 miners (one in five on scrypt) spread over the last 24 h, then serves the real app with
   uvicorn (one process: chDB allows one per data directory).
2. A load process (`python -m bench.api load ...`) keeps 8 HTTP/1.1 keep-alive connections busy (asyncio
   Protocols, one request in flight per connection, the next sent as soon as an answer is complete) on `/api/v1/stats`, then on `/api/v1/miners/{address}` with random
   known addresses, and reports requests/s and p50/p99 latency.
3. Both runs with the rate limiter off and on (`API_RATE_LIMIT_ENABLED`); "on" sets the anonymous tier's
   limit so high that nothing is throttled, so the figure is the limiter's cost, not its refusals.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

MINERS = 1_000
WORKERS = 10_000  # 10 per miner
CONNECTIONS = 8
CHUNK = 1_000_000


def miner_address(m: int) -> str:
    """The bench's miner m (the load SQL builds the same strings)."""
    return f"ltc1qbench{m:029d}" if m % 5 == 0 else f"bc1qbench{m:030d}"


def load_sql(offset: int, count: int, total: int, now_ms: int) -> str:
    w = "(number % 10000)"
    m = f"intDiv({w}, 10)"
    scrypt = f"({m} % 5 = 0)"
    return (
        "INSERT INTO shares (ts, algorithm, miner, worker, difficulty, network_difficulty, status, hardware, coin, "
        "share_key, ingested_at) SELECT "
        f"fromUnixTimestamp64Milli(toInt64({now_ms} - intDiv(({total} - 1 - number) * 86400000, {total})), 'UTC'), "
        f"if({scrypt}, 'scrypt', 'sha256d'), "
        f"if({scrypt}, concat('ltc1qbench', leftPad(toString({m}), 29, '0')), "
        f"concat('bc1qbench', leftPad(toString({m}), 30, '0'))), "
        f"concat('rig', toString({w} % 10)), if({scrypt}, 0.5, 1024.0), 1e12, "
        "multiIf(number % 50 = 0, 'stale', number % 77 = 0, 'low_difficulty', 'accepted'), "
        f"['asic', 'gpu', 'cpu'][({w} % 3) + 1], if({scrypt}, 'LTC', 'BTC'), sipHash64(number), now64(3) "
        f"FROM numbers({offset}, {count})"
    )


def serve(directory: str, port: int, shares: int) -> None:
    """The server process: load the shares once, then serve the app until terminated."""
    import uvicorn

    from api import ApiDeps, ApiSettings, create_app
    from api.health import ComponentHealth, HealthReport
    from schemas.clock import SystemClock
    from sinks.client import ClickHouseSettings, connect
    from sinks.migrate import migrate

    client = connect(ClickHouseSettings(dsn=f"chdb://{directory}", database="bench"))
    migrate(client)
    stored = int(client.query("SELECT count() FROM shares").result_rows[0][0])
    if stored < shares:
        began, now_ms = time.monotonic(), int(time.time() * 1000)
        for offset in range(stored, shares, CHUNK):
            client.command(load_sql(offset, min(CHUNK, shares - offset), shares, now_ms))
            print(f"bench: {min(offset + CHUNK, shares):,} shares stored ({time.monotonic() - began:.0f}s)",
                  file=sys.stderr, flush=True)
        client.command("OPTIMIZE TABLE shares_1m FINAL")  # what background merges do over time
        client.command("OPTIMIZE TABLE shares_1h FINAL")

    class Healthy:
        async def check(self) -> HealthReport:
            return HealthReport(ok=True, kafka=ComponentHealth(ok=True, latency_ms=0),
                                clickhouse=ComponentHealth(ok=True, latency_ms=0), consumer_lag=[])

    limited = os.environ.get("API_RATE_LIMIT_ENABLED", "false") == "true"
    settings = ApiSettings(port=port, rate_limit_enabled=limited, rate_anonymous=1_000_000_000)
    app = create_app(ApiDeps(clickhouse=client, clock=SystemClock(), settings=settings, health=Healthy()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@dataclass
class Figures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


class _Client(asyncio.Protocol):
    """One keep-alive connection with one request in flight: the next request leaves from `data_received`
    as soon as the previous answer is complete (a plain Protocol: the load side must cost far less than the
    server, or the bench measures the client)."""

    def __init__(self, paths: list[str], rng: random.Random, deadline: float, out: list[float],
                 done: asyncio.Future[None]) -> None:
        self.paths, self.rng, self.deadline, self.out, self.done = paths, rng, deadline, out, done
        self.buffer = b""
        self.errors = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.deadline:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
            return
        path = self.paths[self.rng.randrange(len(self.paths))]
        self.started = time.perf_counter()
        self.transport.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        self.out.append(time.perf_counter() - self.started)
        if not head.startswith(b"HTTP/1.1 200"):
            self.errors += 1
        self.buffer = self.buffer[end + 4 + length:]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _drive(port: int, paths: list[str], seconds: float) -> Figures:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    began = time.perf_counter()
    deadline = began + seconds
    clients: list[_Client] = []
    for _ in range(CONNECTIONS):
        done: asyncio.Future[None] = loop.create_future()
        _, client = await loop.create_connection(lambda d=done: _Client(paths, rng, deadline, latencies, d),
                                                 "127.0.0.1", port)
        clients.append(client)
    await asyncio.gather(*(c.done for c in clients))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return Figures(len(latencies) / elapsed, pct(0.50), pct(0.99), sum(c.errors for c in clients))


def load(port: int, which: str, seconds: float) -> None:
    """The load process: warm up 1 s, measure `seconds`, print the figures as JSON."""
    paths = ["/api/v1/stats"] if which == "stats" else [f"/api/v1/miners/{miner_address(m)}" for m in range(MINERS)]
    asyncio.run(_drive(port, paths, 1.0))
    figures = asyncio.run(_drive(port, paths, seconds))
    print(json.dumps(figures.__dict__))


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"bench api server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/stats", timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    raise RuntimeError("bench api server not ready in time")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(shares: int = 10_000_000, seconds: float = 10.0) -> dict[str, float]:
    """Load `shares`, then measure /stats and /miners/{address} with the rate limiter off and on."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as directory:
        for limited in (False, True):
            port = _free_port()
            env = {**os.environ, "API_RATE_LIMIT_ENABLED": "true" if limited else "false"}
            server = subprocess.Popen([sys.executable, "-m", "bench.api", "serve", directory, str(port), str(shares)],
                                      env=env)
            try:
                _wait_ready(port, server, timeout_s=1800)
                mode = "rate limit on" if limited else "rate limit off"
                for which in ("stats", "miner"):
                    done = subprocess.run([sys.executable, "-m", "bench.api", "load", str(port), which, str(seconds)],
                                          check=True, capture_output=True, text=True)
                    f = Figures(**json.loads(done.stdout))
                    name = "/api/v1/stats" if which == "stats" else "/api/v1/miners/{address}"
                    print(f"api {name} ({mode}, {shares:,} shares, {CONNECTIONS} connections): "
                          f"{f.requests_per_s:,.0f} req/s, p50 {f.p50_ms:.2f} ms, p99 {f.p99_ms:.2f} ms, "
                          f"{f.errors} non-200", flush=True)
                    out[f"{name} {mode}: req/s"] = f.requests_per_s
                    out[f"{name} {mode}: p50 ms"] = f.p50_ms
                    out[f"{name} {mode}: p99 ms"] = f.p99_ms
            finally:
                server.terminate()
                server.wait(timeout=30)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "load":
        load(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
