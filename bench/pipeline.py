"""End-to-end share pipeline bench: simulator -> embedded broker -> Faust agent (numba checks, dedup) -> chDB.

One run, for one encoding (`arrow`: record batches of `shares_per_message` shares; `json`: one share per
message), on real parts started fresh for the run: an embedded Tansu broker (child process), topics with a
random prefix, a chDB data directory under a new temp dir, the production agent (`streams.shares.attach`)
in this process's event loop. The fleet simulator (`sources.simulate`) runs in its own process (spawn start
method, never fork) so it competes with the pipeline for the CPU as it would on a one-machine deployment.

Two phases, with latency probes all along:

1. capacity: the simulator produces as fast as it can for `capacity_s`, but never more than a bounded
   backlog (~5 s of pipeline capacity) ahead of what ClickHouse holds; the figure is rows durable in
   ClickHouse per second (`count()` sampled ten times a second) over the steady part (after `warmup_s`).
   The probes of this phase wait behind that backlog (reported, but not the latency figure).
2. latency: after the backlog drained, the simulator is paced at a fixed offered rate (`rate`, or 80% of
   the measured capacity when `rate` is 0) for `latency_s`; the stored rate and the probe latencies of this
   phase are the pipeline at a load it sustains.

A probe is one JSON share with a unique worker name, published every `probe_interval_s` by this process
(its own producer, no linger) and looked for in ClickHouse by a poller thread on its own chDB handle;
latency = the end of the first query that returns it - the moment before it was produced (an upper bound,
resolution one poll, ~`poll_s`). At the end the bench checks that every produced share (and probe) is
stored exactly once.

`python -m bench pipeline --encoding arrow --seconds 30` runs it; `run()` returns the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import multiprocessing.synchronize
import os
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# ---- options and results ------------------------------------------------------------------------------

PAUSED = -1.0  # value of the shared `rate`: produce nothing
FLAT_OUT = 0.0  # ... produce as fast as possible; > 0: shares per second


@dataclass(frozen=True)
class PipelineOptions:
    """What one pipeline run measures. Durations in seconds; `rate` 0 = 80% of the measured capacity.
    The fleet's 10,000 workers share ~500k shares/s of simulated time: with 100 miners a slice of the
    simulator holds ~5,000 shares per miner, cut into messages of at most `shares_per_message`."""

    encoding: str = "arrow"
    capacity_s: float = 25.0
    latency_s: float = 15.0
    warmup_s: float = 5.0
    rate: float = 0.0
    miners: int = 100
    workers: int = 100
    shares_per_message: int = 5000
    probe_interval_s: float = 0.1
    poll_s: float = 0.02
    partitions: int = 4
    drain_timeout_s: float = 60.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.encoding not in ("arrow", "json"):
            raise ValueError(f"--encoding: arrow or json, got {self.encoding!r}")
        if self.capacity_s <= self.warmup_s:
            raise ValueError("the capacity phase must be longer than its warm-up")
        if self.latency_s <= 0 or self.rate < 0:
            raise ValueError("--latency-seconds must be > 0 and --rate >= 0")


@dataclass
class Latency:
    """Probe latencies of one phase, in milliseconds."""

    probes: int = 0
    lost: int = 0  # published but never seen (should stay 0)
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")

    @classmethod
    def of(cls, samples_ms: list[float], lost: int) -> Latency:
        if not samples_ms:
            return cls(0, lost)
        ordered = sorted(samples_ms)
        return cls(len(ordered), lost, _quantile(ordered, 0.50), _quantile(ordered, 0.99), ordered[-1])


@dataclass
class PipelineResult:
    """The figures of one run (rates in shares per second)."""

    encoding: str
    shares_per_message: int
    fleet: str
    capacity_stored_per_s: float = 0.0  # phase 1, steady part: rows durable per second
    capacity_produced_per_s: float = 0.0  # phase 1: what the simulator managed meanwhile
    capacity_backlog: int = 0  # phase 1 end: produced but not yet stored
    capacity_latency: Latency = field(default_factory=Latency)
    offered_per_s: float = 0.0  # phase 2 target rate
    latency_produced_per_s: float = 0.0  # phase 2: what the simulator actually produced per second
    latency_stored_per_s: float = 0.0  # phase 2: rows durable per second
    latency: Latency = field(default_factory=Latency)
    produced: int = 0  # shares the simulator produced (probes not included)
    stored: int = 0  # rows in `shares` at the end, probes included
    exact: bool = False  # stored == produced + probes, and no row stored twice
    shares_per_message_avg: float = 0.0
    capacity_usage: dict[str, float] = field(default_factory=dict)  # phase 1: see `usage`
    latency_usage: dict[str, float] = field(default_factory=dict)  # phase 2
    batches: int = 0  # INSERTs the agent made
    seconds: float = 0.0  # wall time of the whole run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def say(message: str) -> None:
    print(f"bench pipeline: {message}", file=sys.stderr, flush=True)


# ---- the simulator process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatorJob:
    bootstrap: str
    topic_prefix: str
    encoding: str
    miners: int
    workers: int
    shares_per_message: int
    seed: int
    max_backlog: int


@dataclass(frozen=True)
class Shared:
    """What the bench and the simulator process share (raw shared-memory numbers, one writer each)."""

    rate: Any  # double, written by the bench: PAUSED, FLAT_OUT or shares/s
    stored: Any  # int64, written by the bench: rows in ClickHouse (sampled ~10 times a second)
    produced: Any  # int64, written by the simulator: shares handed to the producer
    messages: Any  # int64, written by the simulator: messages handed to the producer
    ready: multiprocessing.synchronize.Event  # set by the simulator once its fleet is built
    stop: multiprocessing.synchronize.Event  # set by the bench


def simulator_main(job: SimulatorJob, shared: Shared) -> None:
    """Entry point of the simulator process: produce the fleet's shares until `stop`, at the shared `rate`,
    never more than `job.max_backlog` shares ahead of what ClickHouse holds (so a pipeline slower than the
    simulator meets a bounded queue, not an ever-growing one).

    The fleet's simulated window is the last 30 minutes and its share rate ~500k/s of simulated time, so
    share times stay within the pipeline's accepted clock skew whatever the pace. Every message is flushed
    before the process exits.
    """
    from bus.publisher import Publisher, PublisherSettings
    from schemas.clock import SystemClock
    from schemas.topics import TopicNames
    from sources.simulate.options import SimulateOptions
    from sources.simulate.run import plan

    window_s = 1800.0
    shares_per_s = 500_000.0
    options = SimulateOptions(
        miners=job.miners,
        workers=job.workers,
        duration_s=window_s,
        encoding=job.encoding,
        seed=job.seed,
        shares_per_message=job.shares_per_message,
        target_share_interval_s=job.miners * job.workers / shares_per_s,
    )
    start_ms = SystemClock().now_ms() - round(window_s * 1000)
    _, _, generator = plan(options, start_ms)
    topic = TopicNames(prefix=job.topic_prefix).shares
    publisher = Publisher(PublisherSettings(job.bootstrap))
    count = messages = 0
    pace_rate, pace_t0, pace_base = -2.0, 0.0, 0
    shared.ready.set()
    try:
        for _, shares in generator.slices():
            for key, value, n in generator.messages(shares):
                while True:
                    if shared.stop.is_set():
                        return
                    current = float(shared.rate.value)
                    if current != pace_rate:  # a new phase: pace from here
                        pace_rate, pace_t0, pace_base = current, time.monotonic(), count
                    wait = 0.01
                    if count - int(shared.stored.value) > job.max_backlog or current == PAUSED:
                        pass
                    elif current == FLAT_OUT:
                        break
                    else:
                        due = pace_base + current * (time.monotonic() - pace_t0)
                        if count + n <= due:
                            break
                        # librdkafka's poll() takes whole milliseconds: a shorter wait would spin
                        wait = max(0.001, min(wait, (count + n - due) / current))
                    publisher.poll(wait)
                publisher.publish(topic, value, key)
                count += n
                messages += 1
                shared.produced.value = count
                shared.messages.value = messages
    finally:
        publisher.flush(120.0)


# ---- probes and counts ----------------------------------------------------------------------------------

PROBE_MINER = "bc1qbenchprobe000000000000000000000000000"  # well-formed (alphanumeric, 20-100 chars)


class Probes:
    """Publishes probe shares; a poller thread on its own chDB handle looks for them in ClickHouse and
    samples `count()` of `shares` every `count_s` (shared with the simulator for its backlog bound)."""

    def __init__(self, bootstrap: str, topic: str, client: Any, poll_s: float, stored: Any,
                 count_s: float = 0.1) -> None:
        from bus.publisher import Publisher, PublisherSettings

        self._publisher = Publisher(PublisherSettings(bootstrap, linger_ms=0))
        self._topic = topic
        self._client = client
        self._poll_s = poll_s
        self._count_s = count_s
        self._stored = stored
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[float, str]] = {}  # worker -> (published at, phase)
        self._seen: dict[str, list[float]] = {}  # phase -> latencies in ms
        self._published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-probe-poller", daemon=True)
        self.samples: list[tuple[float, int]] = []  # (monotonic time, count() of shares)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def publish(self, phase: str) -> None:
        from schemas.share import Share, encode_json

        n = self._published
        worker = f"probe-{n:07d}"
        share = Share(ts=time.time_ns() // 1_000_000, algorithm="sha256d", miner=PROBE_MINER, worker=worker,
                      difficulty=1.0, network_difficulty=1e12, job_id="probe", extranonce2=f"{n:016x}",
                      ntime=int(time.time()), nonce=n, ip="127.0.0.1", hardware="cpu")
        value = encode_json(share)
        with self._lock:
            self._pending[worker] = (time.monotonic(), phase)
            self._published += 1
        # keys spread the probes over every partition
        self._publisher.publish(self._topic, value, key=f"probe{n % 64}".encode())

    @property
    def published(self) -> int:
        with self._lock:
            return self._published

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def stored(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def latency(self, phase: str) -> Latency:
        with self._lock:
            lost = sum(1 for _, p in self._pending.values() if p == phase)
            return Latency.of(list(self._seen.get(phase, [])), lost)

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"the probe poller failed: {self.error!r}")

    def _poll(self) -> None:
        next_count = 0.0
        sql = ("SELECT worker FROM shares WHERE algorithm = 'sha256d' AND miner = {m:String} "
               "AND worker IN {w:Array(String)}")
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                if began >= next_count:
                    count = int(self._client.command("SELECT count() FROM shares"))
                    self.samples.append((time.monotonic(), count))
                    self._stored.value = count
                    next_count = began + self._count_s
                with self._lock:
                    waiting = list(self._pending)
                if waiting:
                    rows = self._client.query(sql, parameters={"m": PROBE_MINER, "w": waiting}).result_rows
                    seen_at = time.monotonic()
                    with self._lock:
                        for (worker,) in rows:
                            entry = self._pending.pop(worker, None)
                            if entry is not None:
                                self._seen.setdefault(entry[1], []).append((seen_at - entry[0]) * 1000)
                self._stop.wait(max(0.0, self._poll_s - (time.monotonic() - began)))
        except BaseException as exc:  # reported by the run, which then fails loudly
            self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._publisher.close()


def _rate_between(samples: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Rows per second between the first sample at/after t0 and the last at/before t1."""
    window = [(t, c) for t, c in samples if t0 <= t <= t1]
    if len(window) < 2:
        return 0.0
    (ta, ca), (tb, cb) = window[0], window[-1]
    return (cb - ca) / (tb - ta) if tb > ta else 0.0


# ---- where the time goes ----------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy so far (everything but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK


def child_pids(parent: int) -> dict[int, str]:
    """pid -> command name of the direct children of `parent`."""
    out: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if int(text.rsplit(")", 1)[1].split()[1]) == parent:
            out[int(entry)] = name
    return out


class Stages:
    """Wall time the agent spends in each step of its batches (wrapping the ingest's collaborators), plus
    CPU seconds of the processes involved, so a phase can say where the time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {"decode": 0.0, "prepare": 0.0, "insert": 0.0}
        self.rows = 0

    def wrap(self, name: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - began

        return timed

    def attach(self, ingest: Any) -> None:
        ingest.decode = self.wrap("decode", ingest.decode)
        ingest.preparer.prepare = self.wrap("prepare", ingest.preparer.prepare)
        ingest.writer.write = self.wrap("insert", ingest.writer.write)

    def snapshot(self, pids: dict[str, int]) -> dict[str, float]:
        out = {f"agent_{k}_s": v for k, v in self.seconds.items()}
        out.update({f"cpu_{name}_s": cpu_seconds(pid) for name, pid in pids.items()})
        out["cpu_machine_s"] = machine_busy_seconds()
        out["t"] = time.monotonic()
        return out


def usage(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per phase: share of wall time in each agent step, and cores used by each process."""
    wall = after["t"] - before["t"]
    return {k.removesuffix("_s"): (after[k] - before[k]) / wall for k in after if k != "t" and k in before}


# ---- the run --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Faust and aiokafka log every rebalance at INFO; the bench shows its own progress instead."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("faust", "aiokafka", "mode"):
        logging.getLogger(name).setLevel(logging.ERROR)
    yield


class Run:
    """One pipeline run in this process: the agent, the probes, the simulator process, the phases."""

    def __init__(self, options: PipelineOptions, bootstrap: str, topic_prefix: str, client: Any,
                 poll_client: Any) -> None:
        self.options = options
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.client = client
        self.poll_client = poll_client
        self.result = PipelineResult(
            encoding=options.encoding, fleet=f"{options.miners} miners x {options.workers} workers",
            shares_per_message=options.shares_per_message if options.encoding == "arrow" else 1,
        )
        ctx = mp.get_context("spawn")
        self.ctx = ctx
        self.shared = Shared(rate=ctx.RawValue("d", PAUSED), stored=ctx.RawValue("q", 0),
                             produced=ctx.RawValue("q", 0), messages=ctx.RawValue("q", 0),
                             ready=ctx.Event(), stop=ctx.Event())
        self.stages = Stages()
        self.ingest: Any = None
        self.probes: Probes | None = None
        self.pids: dict[str, int] = {"pipeline": os.getpid()}

    def _check(self) -> None:
        if self.ingest is not None and self.ingest.error is not None:
            raise RuntimeError(f"the share agent failed: {self.ingest.error!r}")
        if self.probes is not None:
            self.probes.check()

    async def _wait(self, what: str, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check()
            if predicate():
                return True
            await asyncio.sleep(0.1)
        say(f"gave up waiting for {what} after {timeout:.0f}s")
        return False

    def _all_stored(self) -> bool:
        assert self.probes is not None
        return (self.probes.stored() >= int(self.shared.produced.value) + self.probes.published
                and self.probes.pending() == 0)

    async def _phase(self, name: str, seconds: float) -> tuple[float, float, dict[str, float]]:
        """Publish a probe every `probe_interval_s` for `seconds`, reporting progress every 5 s.
        Returns (start, end, usage of the phase)."""
        assert self.probes is not None
        probes, shared = self.probes, self.shared
        before = self.stages.snapshot(self.pids)
        began = last_report = time.monotonic()
        last_count = probes.stored()
        while (now := time.monotonic()) - began < seconds:
            self._check()
            probes.publish(name)
            if now - last_report >= 5.0:
                count = probes.stored()
                say(f"  {name} {now - began:3.0f}s: stored {count:,} ({(count - last_count) / (now - last_report):,.0f}"
                    f"/s), produced {int(shared.produced.value):,}")
                last_report, last_count = now, count
            await asyncio.sleep(max(0.0, self.options.probe_interval_s - (time.monotonic() - now)))
        end = time.monotonic()
        return began, end, usage(before, self.stages.snapshot(self.pids))

    async def drive(self) -> PipelineResult:
        from faust.contrib.asgi import faust_app_running

        from bus.admin import topic_id
        from bus.publisher import Publisher, PublisherSettings
        from schemas.clock import SystemClock
        from schemas.topics import TopicNames
        from sinks.shares import ShareWriter
        from streams.app import create_faust_app
        from streams.settings import StreamSettings
        from streams.shares import ShareIngest, attach

        options, shared, result = self.options, self.shared, self.result
        topics = TopicNames(prefix=self.topic_prefix)
        settings = StreamSettings(bootstrap=self.bootstrap, app_id=f"bench-{secrets.token_hex(4)}",
                                  partitions=options.partitions)
        app = create_faust_app(settings)
        ingest = ShareIngest(settings, topics, ShareWriter(self.client),
                             Publisher(PublisherSettings(self.bootstrap)), SystemClock())
        self.ingest = ingest
        ingest.topic_ids[topics.shares] = await asyncio.to_thread(topic_id, self.bootstrap, topics.shares)
        await asyncio.to_thread(ingest.restore)
        attach(app, ingest)
        self.stages.attach(ingest)

        # the simulator stays at most ~5 s of pipeline capacity ahead (so the drain after phase 1 is short)
        backlog = 2_500_000 if options.encoding == "arrow" else 250_000
        job = SimulatorJob(self.bootstrap, self.topic_prefix, options.encoding, options.miners, options.workers,
                           options.shares_per_message, options.seed, backlog)
        simulator = self.ctx.Process(target=simulator_main, args=(job, shared), name="bench-simulator")
        probes = self.probes = Probes(self.bootstrap, topics.shares, self.poll_client, options.poll_s, shared.stored)
        probes.start()
        async with faust_app_running(app, stop_timeout=30):
            try:
                say("waiting for the agent to join its group and store a first probe")
                probes.publish("startup")
                await self._wait("the first probe", lambda: probes.pending() == 0, 60.0)
                simulator.start()
                await self._wait("the simulator's fleet", lambda: shared.ready.is_set() or not simulator.is_alive(),
                                 60.0)
                assert simulator.pid is not None
                self.pids["simulator"] = simulator.pid
                for pid, name in child_pids(os.getpid()).items():
                    if "tansu" in name or "broker" in name:
                        self.pids["broker"] = pid

                shared.rate.value = FLAT_OUT
                say(f"phase 1 (capacity): simulator flat out for {options.capacity_s:.0f}s "
                    f"(at most {backlog:,} shares ahead of ClickHouse)")
                p0, m0 = int(shared.produced.value), int(shared.messages.value)
                t0, t1, result.capacity_usage = await self._phase("capacity", options.capacity_s)
                shared.rate.value = PAUSED
                p1, m1 = int(shared.produced.value), int(shared.messages.value)
                result.capacity_stored_per_s = _rate_between(probes.samples, t0 + options.warmup_s, t1)
                result.capacity_produced_per_s = (p1 - p0) / (t1 - t0)
                result.shares_per_message_avg = (p1 - p0) / max(1, m1 - m0)
                result.capacity_backlog = max(0, p1 - (probes.stored() - probes.published))
                say(f"phase 1: stored {result.capacity_stored_per_s:,.0f}/s (steady part), simulator produced "
                    f"{result.capacity_produced_per_s:,.0f}/s, backlog {result.capacity_backlog:,} shares")

                say("draining the backlog")
                await self._wait("the backlog to drain", self._all_stored, options.drain_timeout_s)
                result.capacity_latency = probes.latency("capacity")

                offered = options.rate or round(0.8 * result.capacity_stored_per_s, -3) or 1000.0
                result.offered_per_s = offered
                say(f"phase 2 (latency): simulator paced at {offered:,.0f} shares/s for {options.latency_s:.0f}s")
                shared.rate.value = offered
                p2 = int(shared.produced.value)
                t2, t3, result.latency_usage = await self._phase("latency", options.latency_s)
                result.latency_produced_per_s = (int(shared.produced.value) - p2) / (t3 - t2)
                shared.stop.set()
                result.latency_stored_per_s = _rate_between(probes.samples, t2 + min(2.0, options.latency_s / 4), t3)
                await asyncio.to_thread(simulator.join, 150)
                say("waiting for the last shares and probes")
                await self._wait("every produced share to be stored", self._all_stored, options.drain_timeout_s)
                result.latency = probes.latency("latency")
                await ingest.drained(idle_s=1.0, timeout_s=10.0)
            finally:
                shared.stop.set()
                if simulator.is_alive():
                    await asyncio.to_thread(simulator.join, 30)
                if simulator.is_alive():
                    simulator.kill()
                probes.stop()
        await ingest.runtime.stored()
        await asyncio.to_thread(ingest.dead_letters.close)
        ingest.writer.close()
        result.produced = int(shared.produced.value)
        result.batches = ingest.batches
        total, distinct = self.client.query("SELECT count(), uniqExact(share_key) FROM shares").result_rows[0]
        result.stored = int(total)
        result.exact = int(total) == result.produced + probes.published and int(distinct) == int(total)
        return result


def run_in_process(options: PipelineOptions) -> PipelineResult:
    """One run in the calling process (it opens a chDB engine: one path per process, so once per process)."""
    from bus.admin import ensure_topics
    from poolstream.broker import EmbeddedBroker
    from schemas.topics import TopicNames
    from sinks.client import ClickHouseSettings, connect
    from sinks.migrate import migrate

    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="poolstream-bench-")
    prefix = f"bench{secrets.token_hex(4)}."
    say(f"{options.encoding}: embedded broker, chDB at {workdir}, topics {prefix}*")
    try:
        with _quiet_logs(), EmbeddedBroker() as broker:
            ensure_topics(broker.bootstrap, TopicNames(prefix=prefix).all(), partitions=options.partitions)
            ch_settings = ClickHouseSettings(dsn=f"chdb://{workdir}/clickhouse", database="bench")
            client = connect(ch_settings)
            migrate(client)
            poll_client = connect(ch_settings)
            try:
                result = asyncio.run(Run(options, broker.bootstrap, prefix, client, poll_client).drive())
            finally:
                poll_client.close()
                client.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - began
    return result


def _child(options: PipelineOptions, out: Any) -> None:
    try:
        out.put(("ok", run_in_process(options)))
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


def run(options: PipelineOptions) -> PipelineResult:
    """One run in a fresh process (spawn): its own chDB engine and memory, nothing left behind."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(options, out), name=f"bench-pipeline-{options.encoding}")
    proc.start()
    try:
        while True:
            try:
                status, value = out.get(timeout=1.0)
                break
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the pipeline bench process died (exit code {proc.exitcode})") from None
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    if status != "ok":
        raise RuntimeError(f"pipeline bench ({options.encoding}) failed: {value}")
    result: PipelineResult = value
    print_result(result)
    return result


def _ms(value: float) -> str:
    return "n/a" if value != value else f"{value:,.0f} ms"


def _usage_line(figures: dict[str, float]) -> str:
    agent = ", ".join(f"{k.removeprefix('agent_')} {v:.0%}" for k, v in figures.items()
                      if k.startswith("agent_"))
    ours = {k.removeprefix("cpu_"): v for k, v in figures.items() if k.startswith("cpu_") and k != "cpu_machine"}
    cores = ", ".join(f"{k} {v:.2f}" for k, v in ours.items())
    others = max(0.0, figures.get("cpu_machine", 0.0) - sum(ours.values()))
    return f"agent thread busy: {agent}; cores used: {cores}, other processes {others:.2f}"


def print_result(r: PipelineResult) -> None:
    print(f"pipeline {r.encoding}: {r.fleet}, {r.shares_per_message:,} share(s)/message max "
          f"({r.shares_per_message_avg:,.0f} on average)")
    print(f"  capacity (simulator flat out):   stored {r.capacity_stored_per_s:11,.0f} shares/s"
          f"  (simulator produced {r.capacity_produced_per_s:,.0f}/s)")
    print(f"    {_usage_line(r.capacity_usage)}")
    c = r.capacity_latency
    print(f"    probe latency at capacity: p50 {_ms(c.p50_ms)}, p99 {_ms(c.p99_ms)}, max {_ms(c.max_ms)}"
          f" ({c.probes} probes; includes the queue in the broker)")
    print(f"  paced at {r.offered_per_s:,.0f} shares/s: stored {r.latency_stored_per_s:11,.0f} shares/s"
          f"  (simulator produced {r.latency_produced_per_s:,.0f}/s)")
    print(f"    {_usage_line(r.latency_usage)}")
    lat = r.latency
    print(f"    share-to-queryable latency: p50 {_ms(lat.p50_ms)}, p99 {_ms(lat.p99_ms)}, max {_ms(lat.max_ms)}"
          f" ({lat.probes} probes, {lat.lost} never seen)")
    print(f"  exactly once: {'yes' if r.exact else 'NO'} ({r.stored:,} rows for {r.produced:,} shares + probes, "
          f"{r.batches:,} inserts); run took {r.seconds:.0f}s")
    sys.stdout.flush()


def options_for(encoding: str, seconds: float, rate: float = 0.0) -> PipelineOptions:
    """Defaults per encoding for about `seconds` of load, split 60/40 between the two phases."""
    base = PipelineOptions(encoding=encoding)
    capacity = max(base.warmup_s + 5.0, 0.6 * seconds)
    return replace(base, capacity_s=capacity, latency_s=max(5.0, seconds - capacity), rate=rate)
