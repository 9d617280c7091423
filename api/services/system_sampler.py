"""The figures of GET /monitoring/metrics and the `metrics` of GET /admin/health, from real sources.

- Host (psutil): `cpu_usage` % of all cores since the previous call; `memory_usage` % of RAM in use;
  `network_in`/`network_out` kB/s (1 kB = 1000 bytes, all interfaces) since the previous call.
- `disk_usage`: % used of ClickHouse's `default` disk (`system.disks`; chDB: the data directory's filesystem).
- Counters of this process (prometheus default registry, read by name: api does not import streams or
  sources): shares stored per second and their rejection ratio (`poolstream_shares_ingested_total`), Stratum
  connections, submits and jobs sent (`poolstream_stratum_*`). A rate is measured between two calls at least
  `MIN_WINDOW_S` apart (a faster poll gets the last rate again); an API-only process has none of these (0).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil
from prometheus_client import REGISTRY, CollectorRegistry

from api.services.db import Db

MIN_WINDOW_S = 1.0
DISK_CACHE_S = 10.0


def counter_total(name: str, registry: CollectorRegistry = REGISTRY, **labels: str) -> float:
    """The sum over every label set (matching `labels`) of counter or gauge `name` (0 when not registered)."""
    family = name.removesuffix("_total")
    total = 0.0
    for metric in registry.collect():
        if metric.name != family:
            continue
        for sample in metric.samples:
            if sample.name in (family, f"{family}_total") and all(sample.labels.get(k) == v
                                                                   for k, v in labels.items()):
                total += sample.value
    return total


class Rate:
    """Per-second rate of a growing counter between two reads at least `MIN_WINDOW_S` apart."""

    def __init__(self, read: Callable[[], float], clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self._t = clock()
        self._v = read()
        self.rate = 0.0
        self.delta = 0.0  # counter growth over the last window

    def sample(self) -> float:
        now, value = self._clock(), self._read()
        if now - self._t >= MIN_WINDOW_S:
            self.delta = max(0.0, value - self._v)  # a counter reset (new registry) is not negative traffic
            self.rate = self.delta / (now - self._t)
            self._t, self._v = now, value
        return self.rate


@dataclass(frozen=True)
class HostSample:
    cpu_usage: float
    memory_usage: float
    disk_usage: float
    network_in: float  # kB/s
    network_out: float  # kB/s


@dataclass(frozen=True)
class IngestSample:
    shares_per_second: float
    rejection_rate: float  # rejected / stored over the window, 0..1
    connections: int
    jobs_sent: int
    shares_received: int  # Stratum submits received by this process's gateway since it started


class SystemSampler:
    def __init__(self, db: Db, registry: CollectorRegistry = REGISTRY) -> None:
        self._db = db
        self._registry = registry
        self._net_in = Rate(lambda: float(psutil.net_io_counters().bytes_recv))
        self._net_out = Rate(lambda: float(psutil.net_io_counters().bytes_sent))
        self._stored = Rate(lambda: self._count("poolstream_shares_ingested_total"))
        self._rejected = Rate(lambda: self._count("poolstream_shares_ingested_total", status="rejected"))
        psutil.cpu_percent(interval=None)  # primes the CPU counter: the next call measures since now
        self._disk: tuple[float, float] = (0.0, -DISK_CACHE_S)

    def _count(self, name: str, **labels: str) -> float:
        return counter_total(name, self._registry, **labels)

    async def host(self) -> HostSample:
        return HostSample(
            cpu_usage=round(psutil.cpu_percent(interval=None), 1),
            memory_usage=round(psutil.virtual_memory().percent, 1),
            disk_usage=await self._disk_usage(),
            network_in=round(self._net_in.sample() / 1000, 1),
            network_out=round(self._net_out.sample() / 1000, 1),
        )

    def ingest(self) -> IngestSample:
        per_s = self._stored.sample()
        self._rejected.sample()
        ratio = self._rejected.delta / self._stored.delta if self._stored.delta else 0.0
        return IngestSample(
            shares_per_second=round(per_s, 3), rejection_rate=round(ratio, 4),
            connections=int(self._count("poolstream_stratum_connections")),
            jobs_sent=int(self._count("poolstream_stratum_jobs_sent_total")),
            shares_received=int(self._count("poolstream_stratum_submits_total")),
        )

    async def _disk_usage(self) -> float:
        value, at = self._disk
        if time.monotonic() - at < DISK_CACHE_S:
            return value
        try:
            rows = await asyncio.wait_for(self._db.rows(
                "SELECT free_space, total_space FROM system.disks WHERE name = 'default'", {}), timeout=2.0)
        except Exception:  # ClickHouse down: health says so elsewhere; the last known figure stays
            return value
        if rows and rows[0][1]:
            value = round(100.0 * (1 - float(rows[0][0]) / float(rows[0][1])), 1)
        self._disk = (value, time.monotonic())
        return value
