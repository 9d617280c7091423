"""Stratum abuse bench: honest miners' accepted shares/s and submit latency, unattacked and under each attack.

The gateway runs in a child process (production defaults but for the limits named in `GATEWAY_LIMITS`)
publishing to an embedded broker. This process runs the honest side: `HONEST_CLIENTS` miners from 127.0.0.1
that really mine (they search nonces until the SHA256d hash meets the share target, so every submit is a
valid share) at a fixed pace far below the gateway's capacity, plus a probe that logs in anew every
`PROBE_EVERY_S` (can a new miner still get in?). Each attack (`bench.attacks`) runs in its own process,
from its own 127.x.y.z source addresses, pinned to the last CPU. Per scenario: ramp, measure, stop, settle;
the table compares each scenario with the first baseline, and a second baseline at the end shows the
run-to-run noise. `flood_many_control` runs the `flood_many` attacker against a bare server in another
process instead of the gateway: what an attacker on this machine costs the honest miners whatever the
gateway does. The CPU each party used in every window is printed, other people's processes included.

`python -m bench abuse [--seconds N] [--nice -10]` (also part of `make bench`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import attacks

ROOT = Path(__file__).resolve().parents[1]
ADDR = attacks.BTC_ADDR
HONEST_CLIENTS = 100
HONEST_RATE = 20.0  # submits/s per honest client: 2,000/s in all, ~5% of the gateway's measured capacity
PROBE_EVERY_S = 0.25
SHARE_DIFFICULTY = 2.0**-30  # target ~2^254: one hash in four meets it, so honest clients mine for real
TARGET = int((0xFFFF << 208) / SHARE_DIFFICULTY)
#: Limits of the bench gateway that differ from the defaults: the total connection limit is scaled down
#: (20,000 -> 4,000) so that one attacking process can reach it within a phase.
GATEWAY_LIMITS = {"max_connections": 4_000}
SCENARIOS = ("baseline", "garbage", "oversized", "slowloris", "slowloris_control", "flood_1ip", "flood_many", "flood_many_control",
             "invalid_shares", "authorize_storm", "baseline_again")
RAMP_S = 1.5  # an attack runs this long before its window opens


def gateway_main() -> None:
    """The gateway child: serve on a free port, print it, then answer each stdin line with a metrics snapshot
    (JSON) until stdin closes."""
    from bus.publisher import Publisher, PublisherSettings
    from schemas.algorithms import Algorithm
    from schemas.clock import SystemClock
    from schemas.topics import TopicNames
    from sources.stratum import PortSettings, StratumSettings, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bootstrap, prefix = sys.argv[1], sys.argv[2]
    d = SHARE_DIFFICULTY
    port = PortSettings(Algorithm.SHA256D, 0, start_difficulty=d, min_difficulty=d, max_difficulty=d,
                        nbits=0x1703A30C)
    settings = StratumSettings(ports=(port,), **GATEWAY_LIMITS)  # type: ignore[arg-type]

    async def main() -> None:
        pub = Publisher(PublisherSettings(bootstrap, linger_ms=20))
        gw = await serve(settings, pub, TopicNames(prefix), SystemClock())
        print(json.dumps({"port": gw.port(Algorithm.SHA256D)}), flush=True)
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            print(json.dumps(_snapshot(gw.connection_count)), flush=True)
        await gw.close()
        pub.close()

    asyncio.run(main())


def _snapshot(connections: int) -> dict[str, float]:
    from prometheus_client import REGISTRY

    out: dict[str, float] = {"connections": float(connections)}
    for family in REGISTRY.collect():
        if family.name.startswith("poolstream_stratum"):
            for s in family.samples:
                if s.name.endswith("_total"):
                    labels = ",".join(f"{v}" for k, v in sorted(s.labels.items()) if k != "algorithm")
                    out[f"{s.name.removeprefix('poolstream_stratum_').removesuffix('_total')}:{labels}"] = s.value
    t = os.times()
    out["cpu_s"] = t.user + t.system
    out["wall_s"] = time.monotonic()
    return out


def _cpu() -> dict[int, float]:
    """CPU seconds so far: pid -> its own (all threads), and -1 -> the whole machine's busy time."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    out[-1] = (sum(v[:8]) - v[3] - v[4]) / tick  # all but idle and iowait
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
            out[-2 - int(entry.name)] = float(fields[1])  # -2 - pid -> parent pid
    return out


def _usage(before: dict[int, float], after: dict[int, float], seconds: float, gateway: int,
           attacker: int | None) -> dict[str, float]:
    """Cores used over the window: machine, gateway, honest clients (this process), attacker, the rest of
    this bench (broker), and other people's processes."""
    def used(pid: int) -> float:
        return max(0.0, after.get(pid, 0.0) - before.get(pid, 0.0)) / seconds

    me = os.getpid()
    ours = {me}
    grew = True
    while grew:  # every descendant of this process
        grew = False
        for key, value in after.items():
            if key <= -2 and int(value) in ours and -2 - key not in ours:
                ours.add(-2 - key)
                grew = True
    total = used(-1)
    mine = sum(used(pid) for pid in ours)
    u = {"machine": total, "gateway": used(gateway), "honest": used(me), "attacker": used(attacker or 0)}
    u["bench_other"] = max(0.0, mine - u["gateway"] - u["honest"] - u["attacker"])
    u["others"] = max(0.0, total - mine)
    return u


# -- the honest side ---------------------------------------------------------------------------------------
def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


class Honest(asyncio.Protocol):
    """A miner that mines for real and submits at the pace it is told; records each answer's latency."""

    def __init__(self, n: int, samples: list[tuple[float, float, bool]]) -> None:
        self.user = f"{ADDR}.honest{n}"
        self.samples = samples  # (answered at, latency s, accepted)
        self.t: asyncio.Transport | None = None
        self.buf = b""
        self.en1 = ""
        self.job: list[Any] | None = None
        self.prefix = b""
        self.nonce = 0
        self.next_id = 10
        self.sent: dict[int, float] = {}
        self.done = 0
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.t = transport
        transport.write(b'{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}\n'
                        b'{"id":2,"method":"mining.authorize","params":["%s","x"]}\n' % self.user.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.t = None
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"honest client closed: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            msg = json.loads(line)
            if msg.get("method") == "mining.notify":
                self._work(msg["params"])
            elif msg.get("id") == 1 and msg.get("result"):
                self.en1 = msg["result"][1]
            elif isinstance(msg.get("id"), int) and msg["id"] >= 10:
                sent = self.sent.pop(msg["id"], None)
                if sent is not None:
                    self.samples.append((now, now - sent, msg.get("error") is None))

    def _work(self, params: list[Any]) -> None:
        job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime = params[:8]
        root = sha256d(bytes.fromhex(coinb1 + self.en1 + "00000000" + coinb2))
        for b in branch:
            root = sha256d(root + bytes.fromhex(b))
        ph = bytes.fromhex(prevhash)
        prev = b"".join(ph[i : i + 4][::-1] for i in range(0, 32, 4))
        self.prefix = (bytes.fromhex(version)[::-1] + prev + root + bytes.fromhex(ntime)[::-1]
                       + bytes.fromhex(nbits)[::-1])  # fmt: skip
        self.job = params
        if not self.ready.done():
            self.ready.set_result(None)

    def submit(self, count: int) -> None:
        if self.t is None or self.job is None:
            return
        out = []
        now = time.perf_counter()
        for _ in range(count):
            nonce = self.nonce
            while int.from_bytes(sha256d(self.prefix + nonce.to_bytes(4, "little")), "little") > TARGET:
                nonce += 1
            self.nonce = nonce + 1
            self.next_id += 1
            self.sent[self.next_id] = now
            out.append(b'{"id":%d,"method":"mining.submit","params":["%s","%s","00000000","%s","%08x"]}\n'
                       % (self.next_id, self.user.encode(), self.job[0].encode(), self.job[7].encode(), nonce))
        self.t.write(b"".join(out))


async def _pace(clients: list[Honest], stop: asyncio.Event) -> None:
    """Open-loop pacing, staggered: every 10 ms each client sends what it owes at HONEST_RATE (sending does
    not wait for answers, so a slow gateway shows as latency, not as a lower offered load)."""
    t0 = time.perf_counter()
    owed = [0] * len(clients)
    offsets = [i / len(clients) for i in range(len(clients))]
    while not stop.is_set():
        await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        for i, c in enumerate(clients):
            due = int(elapsed * HONEST_RATE + offsets[i]) - owed[i]
            if due > 0:
                owed[i] += due
                c.submit(min(due, 50))


async def _probe(port: int, results: list[tuple[float, bool, float]], stop: asyncio.Event) -> None:
    """A new miner every PROBE_EVERY_S: connect, subscribe, authorize, get work, one accepted share."""
    samples: list[tuple[float, float, bool]] = []
    n = 0
    while not stop.is_set():
        n += 1
        t0 = time.perf_counter()
        ok = False
        client: Honest | None = None
        try:
            loop = asyncio.get_running_loop()
            _, client = await asyncio.wait_for(
                loop.create_connection(lambda n=n: Honest(100_000 + n, samples), "127.0.0.1", port), 3.0)
            await asyncio.wait_for(client.ready, 3.0)
            before = len(samples)
            client.submit(1)
            for _ in range(300):
                if len(samples) > before:
                    ok = samples[-1][2]
                    break
                await asyncio.sleep(0.01)
        except (OSError, TimeoutError, ConnectionError):
            ok = False
        finally:
            if client is not None and client.t is not None:
                client.t.close()
        results.append((t0, ok, time.perf_counter() - t0))
        await asyncio.sleep(PROBE_EVERY_S)


# -- phases -----------------------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    accepted_per_s: float = 0.0
    rejected: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    unanswered: int = 0
    probes_ok: int = 0
    probes: int = 0
    probe_p99_ms: float = float("nan")
    attacker: dict[str, float] = field(default_factory=dict)
    gateway: dict[str, float] = field(default_factory=dict)
    cores: dict[str, float] = field(default_factory=dict)
    p99_rounds: list[float] = field(default_factory=list)  # each round's p99 (the row shows their median)


def _combine(phases: list[Phase]) -> list[Phase]:
    """One row per scenario over the rounds: medians of the figures, sums of the counts, the last round's
    attacker and CPU figures, and each round's p99."""
    names = list(dict.fromkeys(p.name for p in phases))
    out = []
    for name in names:
        runs = [p for p in phases if p.name == name]
        last = runs[-1]
        out.append(Phase(name, statistics.median(p.accepted_per_s for p in runs), sum(p.rejected for p in runs),
                         statistics.median(p.p50_ms for p in runs), statistics.median(p.p99_ms for p in runs),
                         sum(p.unanswered for p in runs), sum(p.probes_ok for p in runs), sum(p.probes for p in runs),
                         statistics.median(p.probe_p99_ms for p in runs), last.attacker, last.gateway, last.cores,
                         [p.p99_ms for p in runs]))  # fmt: skip
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _measure(name: str, samples: list[tuple[float, float, bool]], probes: list[tuple[float, bool, float]],
             clients: list[Honest], t0: float, t1: float) -> Phase:
    window = [s for s in samples if t0 <= s[0] - s[1] < t1]
    accepted = sum(1 for at, _, ok in samples if t0 <= at < t1 and ok)
    lat = [s[1] * 1000 for s in window]
    unanswered = sum(1 for c in clients for sent in c.sent.values() if t0 <= sent < t1)
    pr = [p for p in probes if t0 <= p[0] < t1]
    return Phase(name, accepted / (t1 - t0), sum(1 for s in window if not s[2]), _pct(lat, 0.5), _pct(lat, 0.99),
                 unanswered, sum(1 for p in pr if p[1]), len(pr), _pct([p[2] * 1000 for p in pr], 0.99))


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if k == "connections" or v - before.get(k, 0.0)}


async def _drive(port: int, gateway: subprocess.Popen[str], seconds: float, only: tuple[str, ...],
                 rounds: int = 1) -> list[Phase]:
    loop = asyncio.get_running_loop()
    samples: list[tuple[float, float, bool]] = []
    probes: list[tuple[float, bool, float]] = []
    clients: list[Honest] = []
    for i in range(HONEST_CLIENTS):
        _, c = await loop.create_connection(lambda i=i: Honest(i, samples), "127.0.0.1", port)  # type: ignore[misc]
        clients.append(c)
    await asyncio.gather(*(c.ready for c in clients))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_pace(clients, stop)), asyncio.create_task(_probe(port, probes, stop))]

    def metrics() -> dict[str, float]:
        assert gateway.stdin is not None and gateway.stdout is not None
        gateway.stdin.write("metrics\n")
        gateway.stdin.flush()
        return dict(json.loads(gateway.stdout.readline()))

    ctx = mp.get_context("spawn")
    cpu = (os.cpu_count() or 1) - 1
    phases: list[Phase] = []
    await asyncio.sleep(1.5)  # warm-up
    for round_no, name in [(r, n) for r in range(rounds) for n in SCENARIOS]:
        if only and name not in only and not name.startswith("baseline"):
            continue
        print(f"bench: abuse {name}", file=sys.stderr, flush=True)
        before = await asyncio.to_thread(metrics)
        proc = sink = None
        if not name.startswith("baseline"):
            halt, out = ctx.Event(), ctx.Queue()
            target = port
            if name.endswith("_control"):  # the same attack, at a bare server instead of the gateway
                sink = ctx.Process(target=attacks.sink, args=(out, halt), daemon=True)
                sink.start()
                target = await asyncio.to_thread(out.get, True, 30)
            proc = ctx.Process(target=attacks.run, args=(name, target, seconds, cpu, halt, out, round_no),
                               daemon=True)
            proc.start()
            await asyncio.sleep(RAMP_S)  # the attack is at full strength before the window opens
        cpu0 = await asyncio.to_thread(_cpu)
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        t1 = time.perf_counter()
        cores = _usage(cpu0, await asyncio.to_thread(_cpu), t1 - t0, gateway.pid, proc.pid if proc else None)
        attacker: dict[str, float] = {}
        if proc is not None:
            halt.set()
            attacker = await asyncio.to_thread(out.get, True, 30)
            await asyncio.to_thread(proc.join, 10)
            if sink is not None:
                await asyncio.to_thread(sink.join, 10)
        await asyncio.sleep(0.7)  # settle: answers of the window arrive, the gateway lets go of the attackers
        phase = _measure(name, samples, probes, clients, t0, t1)
        phase.attacker = attacker
        phase.cores = cores
        phase.gateway = _delta(before, await asyncio.to_thread(metrics))
        phases.append(phase)
        print(f"  honest {phase.accepted_per_s:,.0f}/s p50 {phase.p50_ms:.1f} ms p99 {phase.p99_ms:.1f} ms, "
              f"probes {phase.probes_ok}/{phase.probes}; cores {_fmt_cores(cores)}", file=sys.stderr, flush=True)
    stop.set()
    await asyncio.gather(*tasks)
    for c in clients:
        if c.t is not None:
            c.t.close()
    return phases


def _fmt_cores(c: dict[str, float]) -> str:
    return " / ".join(f"{c.get(k, 0.0):.2f}" for k in ("gateway", "honest", "attacker", "bench_other", "others"))


def _answers(g: dict[str, float]) -> str:
    """How the gateway answered, from its metric deltas (reasons with their counts)."""
    parts = []
    for key, value in sorted(g.items(), key=lambda kv: -kv[1]):
        family, _, label = key.partition(":")
        if family in ("submits",) and label == "accepted" or family in ("cpu_s", "wall_s", "connections"):
            continue
        if family == "verify_seconds" or not label:
            continue
        parts.append(f"{family.replace('_connections', '')} {label} {value:,.0f}")
    return "; ".join(parts[:6]) or "-"


def report(phases: list[Phase], seconds: float, niceness: int = 0) -> dict[str, float]:
    """Print the table (Markdown) and return the figures for the bench summary. With several rounds, each
    row is the median over its rounds, compared with the median of every unattacked window (both baselines
    of every round)."""
    unattacked = [p for p in phases if p.name.startswith("baseline")]
    rounds = max(1, len(unattacked) // 2)
    phases = _combine(phases)
    base = Phase("unattacked", statistics.median(p.accepted_per_s for p in unattacked), 0,
                 statistics.median(p.p50_ms for p in unattacked), statistics.median(p.p99_ms for p in unattacked))
    specs = attacks.attacks_for(seconds)
    priority = f"Every process of this bench ran at nice {niceness}" + (
        ", above other people's processes on this shared machine." if niceness < 0 else ".")
    print()
    print("### Stratum abuse")
    print()
    print(f"Honest load: {HONEST_CLIENTS} miners from 127.0.0.1, {HONEST_CLIENTS * HONEST_RATE:,.0f} valid "
          f"submits/s in all (paced, open loop), plus a new miner logging in every {PROBE_EVERY_S} s. "
          f"Window {seconds:.0f} s per scenario after a {RAMP_S} s ramp. Gateway limits: defaults but "
          f"{', '.join(f'{k}={v:,}' for k, v in GATEWAY_LIMITS.items())} (scaled down so one attacker reaches it). "
          f"Attackers run in their own process pinned to CPU {(os.cpu_count() or 1) - 1}, so they take CPU from "
          f"the gateway and the honest clients on this {os.cpu_count()}-core machine, which an attacker on the "
          f"network would not: the figures are pessimistic. {priority} {rounds} round(s) of every scenario; "
          f"Δ against the median of the {len(unattacked)} unattacked windows (p99 {base.p99_ms:.1f} ms).")
    print()
    print("| scenario | attack (offered) | honest accepted/s | Δ | p50 / p99 ms | Δ p99 | p99 per round ms | new logins ok | "
          "attacker sent (lines / conns / MiB) | gateway answered | cores: gateway / honest / attacker / "
          "broker and door (+ control server) / other people's |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    figures: dict[str, float] = {}
    for ph in phases:
        spec = specs.get(ph.name)
        a = ph.attacker
        d_acc = (ph.accepted_per_s / base.accepted_per_s - 1) * 100 if base.accepted_per_s else float("nan")
        d_p99 = (ph.p99_ms / base.p99_ms - 1) * 100 if base.p99_ms else float("nan")
        sent = (f"{a.get('lines_sent', 0):,.0f} / {a.get('connections', 0):,.0f} / "
                f"{a.get('bytes_sent', 0) / 2**20:,.1f}") if a else "-"
        print(f"| {ph.name} | {spec.what if spec else 'none'} | {ph.accepted_per_s:,.0f} | {d_acc:+.1f}% | "
              f"{ph.p50_ms:.1f} / {ph.p99_ms:.1f} | {d_p99:+.1f}% | {' '.join(f'{v:.1f}' for v in ph.p99_rounds)} | "
              f"{ph.probes_ok}/{ph.probes} | {sent} | "
              f"{_answers(ph.gateway)} | {_fmt_cores(ph.cores)} |")
        figures[f"abuse {ph.name}: honest accepted/s"] = ph.accepted_per_s
        figures[f"abuse {ph.name}: honest p99 ms"] = ph.p99_ms
        if ph.unanswered or ph.rejected:
            print(f"|   ↳ {ph.name}: {ph.unanswered} honest submits unanswered, {ph.rejected} rejected | | | | | | | | | | |")
    attacked = [p for p in phases if not p.name.startswith("baseline") and not p.name.endswith("_control")]
    worst = max(attacked, key=lambda p: p.p99_ms / base.p99_ms, default=None)
    spread = [p.p99_ms for p in unattacked]
    print()
    if worst is not None:
        print(f"Worst attack: {worst.name}, p99 {(worst.p99_ms / base.p99_ms - 1) * 100:+.1f}% against the unattacked "
              f"median (unattacked windows' p99 ranged {min(spread):.1f}-{max(spread):.1f} ms: the noise).")
    return figures


def run(seconds: float = 5.0, only: tuple[str, ...] = (), nice: int = 0, rounds: int = 1) -> dict[str, float]:
    """Run every scenario (or `only` those, with both baselines) and print the table. `nice` < 0 raises the
    priority of this bench's processes (all inherit it: broker, gateway, honest clients, attackers, so they
    still compete as equals) over other people's on a shared machine; it needs root."""
    import resource

    from bus.admin import ensure_topics
    from poolstream.broker import EmbeddedBroker
    from schemas.topics import TopicNames

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"bench: abuse, load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    if nice:
        try:
            os.nice(nice)
        except PermissionError:
            print(f"bench: abuse, cannot set nice {nice} (not root): running at {os.nice(0)}", file=sys.stderr)
    niceness = os.nice(0)
    topics = TopicNames(prefix=f"abuse{os.getpid()}.")
    with EmbeddedBroker() as broker, tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        ensure_topics(broker.bootstrap, topics.all(), partitions=4)
        gateway = subprocess.Popen(
            [sys.executable, "-c", "from bench.abuse import gateway_main; gateway_main()", broker.bootstrap,
             topics.prefix], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            assert gateway.stdout is not None and gateway.stdin is not None
            first = gateway.stdout.readline()
            if not first.strip():
                raise RuntimeError("the gateway did not start")
            port = int(json.loads(first)["port"])
            phases = asyncio.run(_drive(port, gateway, seconds, only, rounds))
            gateway.stdin.close()
            gateway.wait(60)
        finally:
            if gateway.poll() is None:
                gateway.kill()
        log.seek(0)
        lines = log.read().splitlines()
    figures = report(phases, seconds, niceness)
    print(f"Gateway log: {len(lines)} lines over the run; the last ones:")
    for line in lines[-5:]:
        print(f"    {line[:160]}")
    return figures


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0, tuple(sys.argv[2:]), int(os.environ.get("BENCH_NICE", "0")))
