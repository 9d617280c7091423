"""End-to-end share pipeline bench: simulator -> embedded broker -> Faust agent (numba checks, dedup) -> chDB.

One run, for one encoding (`arrow`: record batches of `shares_per_message` shares; `json`: one share per
message), on real parts started fresh for the run: an embedded Tansu broker (child process), topics with a
random prefix, a chDB data directory under a new temp dir, the production agent (`streams.shares.attach`)
in this process's event loop. The fleet simulator (`sources.simulate`) runs in its own process (spawn start
method, never fork) so it competes with the pipeline for the CPU as it would on a one-machine deployment.

Two phases, with latency probes all along:

1. capacity: the simulator produces as fast as it can for `capacity_s`; the figure is rows durable in
   ClickHouse per second (`count()` sampled every second) over the steady part (after `warmup_s`). If the
   simulator outruns the pipeline, the broker queues the rest, and the probes of this phase measure that
   queue too (reported, but not the latency figure).
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
    """What one pipeline run measures. Durations in seconds; `rate` 0 = 80% of the measured capacity."""

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
    latency_stored_per_s: float = 0.0  # phase 2: rows durable per second
    latency: Latency = field(default_factory=Latency)
    produced: int = 0  # shares the simulator produced (probes not included)
    stored: int = 0  # rows in `shares` at the end, probes included
    exact: bool = False  # stored == produced + probes, and no row stored twice
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


def simulator_main(
    job: SimulatorJob, rate: Any, produced: Any, stop: multiprocessing.synchronize.Event,
) -> None:
    """Entry point of the simulator process: produce the fleet's shares until `stop`, at the shared `rate`.

    The fleet's simulated window is the last 30 minutes and its share rate ~500k/s of simulated time, so
    share times stay within the pipeline's accepted clock skew whatever the pace. `produced` counts shares
    handed to the producer (a shared int64); every message is flushed before the process exits.
    """
    from schemas.clock import SystemClock
    from schemas.topics import TopicNames
    from sinks.publisher import Publisher, PublisherSettings
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
    count = 0
    pace_rate, pace_t0, pace_base = -2.0, 0.0, 0
    try:
        for _, shares in generator.slices():
            for key, value, n in generator.messages(shares):
                while True:
                    if stop.is_set():
                        return
                    current = float(rate.value)
                    if current != pace_rate:  # a new phase: pace from here
                        pace_rate, pace_t0, pace_base = current, time.monotonic(), count
                    if current == FLAT_OUT:
                        break
                    if current > 0:
                        due = pace_base + current * (time.monotonic() - pace_t0)
                        if count + n <= due:
                            break
                        publisher.poll(min(0.01, (count + n - due) / current))
                    else:
                        publisher.poll(0.01)
                publisher.publish(topic, value, key)
                count += n
                produced.value = count
    finally:
        publisher.flush(120.0)


# ---- probes ---------------------------------------------------------------------------------------------

PROBE_MINER = "bc1qbenchprobe000000000000000000000000000"  # well-formed (alphanumeric, 20-100 chars)


class Probes:
    """Publishes probe shares and watches ClickHouse for them (a poller thread on its own chDB handle)."""

    def __init__(self, bootstrap: str, topic: str, client: Any, poll_s: float) -> None:
        from sinks.publisher import Publisher, PublisherSettings

        self._publisher = Publisher(PublisherSettings(bootstrap, linger_ms=0))
        self._topic = topic
        self._client = client
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[float, str]] = {}  # worker -> (published at, phase)
        self._seen: dict[str, list[float]] = {}  # phase -> latencies in ms
        self._published: dict[str, int] = {}
        self._next = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-probe-poller", daemon=True)
        self.samples: list[tuple[float, int]] = []  # (monotonic time, count() of shares), ~every second
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def publish(self, phase: str) -> None:
        from schemas.share import Share, encode_json

        worker = f"probe-{self._next:07d}"
        self._next += 1
        share = Share(ts=time.time_ns() // 1_000_000, algorithm="sha256d", miner=PROBE_MINER, worker=worker,
                      difficulty=1.0, network_difficulty=1e12, job_id="probe", extranonce2=f"{self._next:016x}",
                      ntime=int(time.time()), nonce=self._next, ip="127.0.0.1", hardware="cpu")
        value = encode_json(share)
        with self._lock:
            self._pending[worker] = (time.monotonic(), phase)
            self._published[phase] = self._published.get(phase, 0) + 1
        # keys spread the probes over every partition
        self._publisher.publish(self._topic, value, key=f"probe{self._next % 64}".encode())

    @property
    def published(self) -> int:
        with self._lock:
            return sum(self._published.values())

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def latency(self, phase: str) -> Latency:
        with self._lock:
            lost = sum(1 for _, p in self._pending.values() if p == phase)
            return Latency.of(list(self._seen.get(phase, [])), lost)

    def _poll(self) -> None:
        next_count = 0.0
        sql = ("SELECT worker FROM shares WHERE algorithm = 'sha256d' AND miner = {m:String} "
               "AND worker IN {w:Array(String)}")
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                if began >= next_count:
                    self.samples.append((began, int(self._client.command("SELECT count() FROM shares"))))
                    next_count = began + 1.0
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


# ---- the run --------------------------------------------------------------------------------------------


def _rate_between(samples: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Rows per second between the first sample at/after t0 and the last at/before t1."""
    window = [(t, c) for t, c in samples if t0 <= t <= t1]
    if len(window) < 2:
        return 0.0
    (ta, ca), (tb, cb) = window[0], window[-1]
    return (cb - ca) / (tb - ta) if tb > ta else 0.0


def _latest(samples: list[tuple[float, int]]) -> int:
    return samples[-1][1] if samples else 0


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Faust and aiokafka log every rebalance at INFO; the bench shows its own progress instead."""
    previous = logging.getLogger().level
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("faust", "aiokafka", "mode"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        logging.getLogger().setLevel(previous)


async def _wait(what: str, predicate: Any, timeout: float, probes: Probes, ingest: Any) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ingest.error is not None:
            raise RuntimeError(f"the share agent failed: {ingest.error!r}")
        if probes.error is not None:
            raise RuntimeError(f"the probe poller failed: {probes.error!r}")
        if predicate():
            return True
        await asyncio.sleep(0.1)
    say(f"gave up waiting for {what} after {timeout:.0f}s")
    return False


async def _phase(name: str, seconds: float, probes: Probes, produced: Any, ingest: Any,
                 interval_s: float) -> None:
    """Publish a probe every `interval_s` for `seconds`, with a progress line every few seconds."""
    began = time.monotonic()
    last_report = began
    last_count = _latest(probes.samples)
    while (now := time.monotonic()) - began < seconds:
        if ingest.error is not None:
            raise RuntimeError(f"the share agent failed: {ingest.error!r}")
        if probes.error is not None:
            raise RuntimeError(f"the probe poller failed: {probes.error!r}")
        probes.publish(name)
        if now - last_report >= 5.0:
            count = _latest(probes.samples)
            say(f"  {name} {now - began:4.0f}s: stored {count:,} ({(count - last_count) / (now - last_report):,.0f}/s)"
                f", produced {int(produced.value):,}")
            last_report, last_count = now, count
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - now)))


async def _drive(options: PipelineOptions, bootstrap: str, topic_prefix: str, client: Any, poll_client: Any,
                 result: PipelineResult) -> None:
    from faust.contrib.asgi import faust_app_running

    from schemas.clock import SystemClock
    from schemas.topics import TopicNames
    from sinks.kafka_admin import topic_id
    from sinks.publisher import Publisher, PublisherSettings
    from sinks.shares import ShareWriter
    from streams.app import create_faust_app
    from streams.settings import StreamSettings
    from streams.shares import ShareIngest, attach

    topics = TopicNames(prefix=topic_prefix)
    settings = StreamSettings(bootstrap=bootstrap, app_id=f"bench-{secrets.token_hex(4)}",
                              partitions=options.partitions)
    app = create_faust_app(settings)
    ingest = ShareIngest(settings, topics, ShareWriter(client), Publisher(PublisherSettings(bootstrap)),
                         SystemClock())
    ingest.topic_ids[topics.shares] = await asyncio.to_thread(topic_id, bootstrap, topics.shares)
    await asyncio.to_thread(ingest.restore)
    attach(app, ingest)

    ctx = mp.get_context("spawn")
    rate = ctx.Value("d", PAUSED, lock=False)
    produced = ctx.Value("q", 0, lock=False)
    stop = ctx.Event()
    job = SimulatorJob(bootstrap, topic_prefix, options.encoding, options.miners, options.workers,
                       options.shares_per_message, options.seed)
    simulator = ctx.Process(target=simulator_main, args=(job, rate, produced, stop), name="bench-simulator")
    probes = Probes(bootstrap, topics.shares, poll_client, options.poll_s)
    probes.start()
    async with faust_app_running(app, stop_timeout=30):
        try:
            say("waiting for the agent to join its group and store a first probe")
            probes.publish("startup")
            await _wait("the first probe", lambda: probes.pending() == 0, 60.0, probes, ingest)
            simulator.start()
            # the simulator builds its fleet before producing; phase 1 starts at its first share
            await _wait("the simulator to start", lambda: produced.value > 0 or not simulator.is_alive(), 60.0,
                        probes, ingest)
            rate.value = FLAT_OUT
            say(f"phase 1 (capacity): simulator flat out for {options.capacity_s:.0f}s")
            t0 = time.monotonic()
            p0 = int(produced.value)
            await _phase("capacity", options.capacity_s, probes, produced, ingest, options.probe_interval_s)
            t1 = time.monotonic()
            rate.value = PAUSED
            p1 = int(produced.value)
            result.capacity_stored_per_s = _rate_between(probes.samples, t0 + options.warmup_s, t1)
            result.capacity_produced_per_s = (p1 - p0) / (t1 - t0)
            stored_at_end = _latest(probes.samples) - probes.published
            result.capacity_backlog = max(0, p1 - stored_at_end)
            say(f"phase 1: stored {result.capacity_stored_per_s:,.0f}/s steady, produced "
                f"{result.capacity_produced_per_s:,.0f}/s, backlog {result.capacity_backlog:,} shares")

            say("draining the backlog")
            await _wait("the backlog to drain",
                        lambda: _latest(probes.samples) >= int(produced.value) + probes.published
                        and probes.pending() == 0,
                        options.drain_timeout_s, probes, ingest)
            result.capacity_latency = probes.latency("capacity")

            offered = options.rate or 0.8 * result.capacity_stored_per_s
            result.offered_per_s = offered
            say(f"phase 2 (latency): simulator paced at {offered:,.0f} shares/s for {options.latency_s:.0f}s")
            rate.value = offered
            t2 = time.monotonic()
            await _phase("latency", options.latency_s, probes, produced, ingest, options.probe_interval_s)
            t3 = time.monotonic()
            stop.set()
            result.latency_stored_per_s = _rate_between(probes.samples, t2 + min(2.0, options.latency_s / 4), t3)
            await asyncio.to_thread(simulator.join, 150)
            say("waiting for the last shares and probes")
            await _wait("every produced share to be stored",
                        lambda: _latest(probes.samples) >= int(produced.value) + probes.published
                        and probes.pending() == 0,
                        options.drain_timeout_s, probes, ingest)
            result.latency = probes.latency("latency")
            await ingest.drained(idle_s=1.0, timeout_s=10.0)
        finally:
            stop.set()
            if simulator.is_alive():
                await asyncio.to_thread(simulator.join, 30)
            if simulator.is_alive():
                simulator.kill()
            probes.stop()
    await asyncio.to_thread(ingest.dead_letters.close)
    result.produced = int(produced.value)
    result.batches = ingest.batches
    total, distinct = client.query("SELECT count(), uniqExact(share_key) FROM shares").result_rows[0]
    result.stored = int(total)
    result.exact = int(total) == result.produced + probes.published and int(distinct) == int(total)


def run_in_process(options: PipelineOptions) -> PipelineResult:
    """One run in the calling process (it opens a chDB engine: one path per process, so once per process)."""
    from poolstream.broker import EmbeddedBroker
    from schemas.topics import TopicNames
    from sinks.client import ClickHouseSettings, connect
    from sinks.kafka_admin import ensure_topics
    from sinks.migrate import migrate

    began = time.monotonic()
    result = PipelineResult(encoding=options.encoding, shares_per_message=options.shares_per_message
                            if options.encoding == "arrow" else 1, fleet=f"{options.miners}x{options.workers}")
    workdir = tempfile.mkdtemp(prefix="poolstream-bench-")
    prefix = f"bench{secrets.token_hex(4)}."
    say(f"{options.encoding}: broker, chDB at {workdir}, topics {prefix}*")
    try:
        with _quiet_logs(), EmbeddedBroker() as broker:
            topics = TopicNames(prefix=prefix)
            ensure_topics(broker.bootstrap, topics.all(), partitions=options.partitions)
            ch_settings = ClickHouseSettings(dsn=f"chdb://{workdir}/clickhouse", database="bench")
            client = connect(ch_settings)
            migrate(client)
            poll_client = connect(ch_settings)
            asyncio.run(_drive(options, broker.bootstrap, prefix, client, poll_client, result))
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


def print_result(r: PipelineResult) -> None:
    per = f"{r.shares_per_message:,} share(s)/message"
    print(f"pipeline {r.encoding} ({per}, fleet {r.fleet} miners x workers)")
    print(f"  capacity, simulator flat out:  stored {r.capacity_stored_per_s:12,.0f} shares/s"
          f"  (simulator produced {r.capacity_produced_per_s:,.0f}/s, backlog at end {r.capacity_backlog:,})")
    c = r.capacity_latency
    print(f"    probe latency at capacity:   p50 {_ms(c.p50_ms)}, p99 {_ms(c.p99_ms)}, max {_ms(c.max_ms)}"
          f" ({c.probes} probes, includes the broker queue)")
    print(f"  paced at {r.offered_per_s:,.0f}/s:  stored {r.latency_stored_per_s:12,.0f} shares/s")
    lat = r.latency
    print(f"    share-to-queryable latency:  p50 {_ms(lat.p50_ms)}, p99 {_ms(lat.p99_ms)}, max {_ms(lat.max_ms)}"
          f" ({lat.probes} probes, {lat.lost} not seen)")
    print(f"  exactly once: {'yes' if r.exact else 'NO'} ({r.stored:,} rows for {r.produced:,} shares + probes, "
          f"{r.batches:,} inserts); run took {r.seconds:.0f}s")
    sys.stdout.flush()


def options_for(encoding: str, seconds: float, rate: float = 0.0) -> PipelineOptions:
    """Defaults per encoding for a run of about `seconds` of load (split 60/40 between the phases)."""
    base = PipelineOptions(encoding=encoding)
    capacity = max(base.warmup_s + 5.0, 0.6 * seconds)
    return replace(base, capacity_s=capacity, latency_s=max(5.0, seconds - capacity), rate=rate)
