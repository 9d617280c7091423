"""Run a simulation: build the fleet, generate its shares and produce them to the `shares` topic.

By default the fleet "mined" over the `duration_s` seconds ending now and its shares are produced as fast
as the broker takes them; with `realtime=True` the window starts now and each slice of shares is produced
once the clock has passed its end, so share timestamps track the wall clock.
"""

from __future__ import annotations

import dataclasses
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from schemas.algorithms import hashrate
from schemas.block import encode_block
from schemas.clock import Clock
from schemas.topics import TopicNames
from sources.simulate.blocks import BlockFinder, FoundBlock
from sources.simulate.fleet import DEVICE_CLASSES, Fleet, build_fleet
from sources.simulate.generate import ShareGenerator
from sources.simulate.options import SimulateOptions
from sources.simulate.report import SimulationReport
from sources.simulate.rigs import FailingRig, RateProfile, pick_failing
from sources.simulate.telemetry import TelemetrySimulator

#: progress(shares produced so far, shares the run will produce)
Progress = Callable[[int, int], None]


class MessagePublisher(Protocol):
    """What the simulator needs of `bus.publisher.Publisher` (which satisfies it)."""

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    def flush(self, timeout: float = 30.0) -> None: ...


def _seed(options: SimulateOptions) -> int:
    return options.seed if options.seed is not None else secrets.randbits(63)


def plan(options: SimulateOptions, start_ms: int) -> tuple[int, Fleet, ShareGenerator]:
    """(seed used, fleet, generator) for a window starting at `start_ms`.

    The fleet depends only on the seed and the fleet options (miners, workers, algorithms, ...), not on
    the duration or fractions: one seed is one fleet.
    """
    seed = _seed(options)
    fleet_seq, shares_seq = np.random.SeedSequence(seed).spawn(2)
    fleet = build_fleet(options, np.random.default_rng(fleet_seq))
    profile = RateProfile.of(failing_rigs(options, seed, fleet, start_ms))
    generator = ShareGenerator(fleet, options, np.random.default_rng(shares_seq), start_ms, profile)
    return seed, fleet, generator


def failing_rigs(options: SimulateOptions, seed: int, fleet: Fleet, start_ms: int) -> list[FailingRig]:
    """The run's failing rigs (the fourth child of the seed; the fifth draws the telemetry's noise)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[3])
    return pick_failing(fleet, options.failing_rigs, rng, start_ms, max(1, round(options.duration_s * 1000)))


def telemetry_simulator(options: SimulateOptions, seed: int, fleet: Fleet, start_ms: int) -> TelemetrySimulator:
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[4])
    window_ms = max(1, round(options.duration_s * 1000))
    return TelemetrySimulator(fleet, failing_rigs(options, seed, fleet, start_ms), rng, start_ms,
                              start_ms + window_ms, options.partitions)


def block_rng(seed: int) -> np.random.Generator:
    """The blocks' own generator (the third child of the run's seed: the fleet and shares use the first two)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])


def simulate(
    options: SimulateOptions,
    publisher: MessagePublisher,
    topics: TopicNames,
    clock: Clock,
    progress: Progress | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    chain_path: Path | None = None,
    on_block: Callable[[FoundBlock], None] | None = None,
) -> SimulationReport:
    """Produce the simulated fleet's shares to `topics.shares`, flush, and report what was produced.

    Each message is keyed by its miner's address. Raises `bus.publisher.PublishError` (from `flush`)
    if any message was not delivered. `sleep` paces realtime runs (tests pass one that moves their clock).
    Blocks found (`options.network_difficulty`) go to `topics.blocks` as `found` events, like the gateway's,
    after their slice's shares, and into the simulated chain file `chain_path` (if given); `on_block` sees each.
    """
    now_ms = clock.now_ms()
    window_ms = max(1, round(options.duration_s * 1000))
    start_ms = now_ms if options.realtime else now_ms - window_ms
    seed, fleet, generator = plan(options, start_ms)
    finder = BlockFinder(generator, block_rng(seed), orphan_rate=options.orphan_rate, chain_path=chain_path,
                         block_time_s=options.chain_block_time_s)
    topic = topics.shares
    total = generator.shares_total
    produced = messages = 0
    hardware = telemetry_simulator(options, seed, fleet, start_ms) if options.telemetry else None
    slice_start_ms = start_ms
    began = time.perf_counter()
    if progress is not None:
        progress(0, total)
    for slice_end_ms, shares in generator.slices():
        if options.realtime:
            while (wait_ms := slice_end_ms - clock.now_ms()) > 0:
                sleep(wait_ms / 1000)
        for key, value, count in generator.messages(shares):
            publisher.publish(topic, value, key)
            produced += count
            messages += 1
        if hardware is not None:  # the slice's readings, after its shares
            for key, value in hardware.messages(slice_start_ms, slice_end_ms, options.encoding,
                                                options.shares_per_message):
                publisher.publish(topics.telemetry, value, key)
        slice_start_ms = slice_end_ms
        for found in finder.find(shares):
            publisher.publish(topics.blocks, encode_block(found.block), key=found.block.miner.encode())
            if on_block is not None:
                on_block(found)
        if progress is not None:
            progress(produced, total)
    publisher.flush()
    seconds = time.perf_counter() - began
    report = build_report(options, seed, fleet, generator, start_ms)
    report.messages = messages
    report.seconds = seconds
    report.shares_per_s = produced / seconds if seconds > 0 else 0.0
    report.telemetry_readings = hardware.readings if hardware is not None else 0
    report.failing_rigs = [{"miner": fleet.addresses[int(fleet.worker_miner[r.worker])],
                            "worker": fleet.worker_names[int(fleet.worker_number[r.worker])],
                            "device_class": DEVICE_CLASSES[int(fleet.worker_class[r.worker])].upper(),
                            "kind": r.kind, "onset_ms": r.onset_ms, "limit_ms": r.limit_ms}
                           for r in failing_rigs(options, seed, fleet, start_ms)]
    report.blocks = [{"hash": f.block.hash, "coin": f.block.coin, "height": f.block.height, "miner": f.block.miner,
                      "reward": f.block.reward, "ts_ms": f.block.ts, "orphan": f.orphan} for f in finder.found]
    return report


def build_report(
    options: SimulateOptions, seed: int, fleet: Fleet, generator: ShareGenerator, start_ms: int
) -> SimulationReport:
    """The report of a generator that has yielded all its slices."""
    tally = generator.tally
    seconds = generator.window_ms / 1000
    if generator.profile is not None:  # failing rigs: the true hashrate is the window's average
        fleet = dataclasses.replace(fleet, worker_hashrate=generator.profile.average(
            fleet.worker_hashrate, generator.start_ms, generator.end_ms))
    accepted = {
        a.wire: float(d) for a, d in zip(fleet.algorithms, tally.algorithm_accepted_difficulty, strict=True)
    }
    classes = np.bincount(fleet.worker_class, minlength=len(DEVICE_CLASSES))
    opts = {name: getattr(options, name) for name in options.__dataclass_fields__}
    opts["seed"] = seed
    return SimulationReport(
        seed=seed,
        encoding=options.encoding,
        miners=options.miners,
        workers=options.workers,
        duration_s=seconds,
        start_ms=start_ms,
        end_ms=generator.end_ms,
        true_hashrate=fleet.true_hashrate(),
        accepted_hashrate={a.wire: hashrate(accepted[a.wire], seconds, a) for a in fleet.algorithms},
        accepted_difficulty=accepted,
        miner_algorithm={
            addr: fleet.algorithms[code].wire
            for addr, code in zip(fleet.addresses, fleet.miner_algorithm.tolist(), strict=True)
        },
        miner_true_hashrate=fleet.miner_hashrate(),
        miner_accepted_shares=dict(zip(fleet.addresses, tally.miner_accepted_shares.tolist(), strict=True)),
        miner_accepted_difficulty=dict(
            zip(fleet.addresses, tally.miner_accepted_difficulty.tolist(), strict=True)
        ),
        workers_by_hardware={name: int(n) for name, n in zip(DEVICE_CLASSES, classes, strict=True)},
        shares_total=tally.shares_total,
        accepted_valid=tally.accepted_valid,
        invalid=dict(tally.invalid),
        duplicates=tally.duplicates,
        stale=tally.stale,
        options=opts,
    )


class ProgressLine:
    """A `progress` callback that keeps one updating line on stderr:
    ``simulate: 1,234,000/5,000,000 shares (24%) 410k/s``. Redraws at most every `interval_s`."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 0.25) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval_s
        self._began: float | None = None
        self._last = -1.0
        self._finished = False
        self.blocks = 0

    def block_found(self, found: FoundBlock) -> None:
        """An `on_block` callback: the line counts the blocks found so far."""
        self.blocks += 1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._began is None:
            self._began = now
        finished = done >= total
        if self._finished or (not finished and now - self._last < self._interval):
            return
        self._finished = finished
        self._last = now
        elapsed = now - self._began
        rate = done / elapsed if elapsed > 0 else 0.0
        percent = 100 * done // total if total else 100
        line = f"simulate: {done:,}/{total:,} shares ({percent}%) {_short(rate)}/s"
        if self.blocks:
            line += f", {self.blocks:,} block(s) found"
        self._stream.write(f"\r{line}\x1b[K" + ("\n" if finished else ""))
        self._stream.flush()


def _short(value: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"


def print_progress(stream: TextIO | None = None) -> Progress:
    """A fresh `progress` callback for one run: one updating line on stderr (or `stream`)."""
    return ProgressLine(stream)
