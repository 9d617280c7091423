"""The embedded broker's stats file (`<EMBEDDED_BROKER_DIR>/stats.json`): written by the broker service every
few seconds, read by the app's health report and /metrics. One writer, many readers; replaced atomically."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from prometheus_client import Gauge

STATS = "stats.json"
WARN_FRACTION = 0.8  # health warns above this share of the memory limit
STALE_S = 30.0  # stats older than this: the broker service is not running
LOSS_WARN_S = 24 * 3600.0  # health keeps warning about a loss this long


@dataclass
class BrokerStats:
    pid: int = 0
    port: int = 0
    epoch: int = 1  # one Tansu process; a recycle starts the next
    epoch_started: float = field(default_factory=time.time)
    rss_bytes: int = 0
    recycle_bytes: int = 0
    limit_bytes: int = 0
    recycles: int = 0
    last_recycle_at: float = 0.0
    last_pause_s: float = 0.0  # how long producers were held at the last recycle
    dropped_unconsumed: int = 0  # messages of disposable topics no group read, gone with their epoch
    blocked: str = ""  # why the last recycle attempt could not run ('' when it ran or none was due)
    updated: float = 0.0
    # What the broker holds that no group has consumed yet, per topic, sampled every check: what a crash
    # of the broker now would lose (memory only). Tansu counts a batch's first offset as its end, so these
    # are lower bounds, and messages produced after the sample are not in them.
    unconsumed: dict[str, int] = field(default_factory=dict)
    sampled: float = 0.0
    stopped: bool = False  # the broker service stopped (cleanly or by signal) and wrote its last sample
    # Losses: messages earlier brokers of this directory held unconsumed when they ended (crash, kill, or a
    # stop with messages queued), found by the next broker at its start.
    lost_messages: int = 0
    last_loss: dict[str, int] = field(default_factory=dict)  # per topic, at the last broker end that lost some
    last_loss_at: float = 0.0

    def warning(self, now: float | None = None) -> str | None:
        """What an operator should know before a limit is reached (None when all is well)."""
        now = time.time() if now is None else now
        if now - self.updated > STALE_S:
            return f"embedded broker stats are {now - self.updated:.0f}s old: is `poolstream broker` running?"
        if self.last_loss and now - self.last_loss_at < LOSS_WARN_S:
            lost = ", ".join(f"{topic} {count:,}" for topic, count in sorted(self.last_loss.items()))
            return (f"the embedded broker ended {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.last_loss_at))} "
                    f"UTC holding at least {sum(self.last_loss.values()):,} unconsumed messages, lost ({lost})")
        if self.limit_bytes and self.rss_bytes >= WARN_FRACTION * self.limit_bytes:
            why = f": recycling is blocked ({self.blocked})" if self.blocked else ""
            return (f"embedded broker uses {self.rss_bytes / 2**20:.0f} MiB, {self.rss_bytes / self.limit_bytes:.0%} "
                    f"of EMBEDDED_BROKER_MEMORY_LIMIT_MB{why}")
        return None


def ended_holding(previous: BrokerStats, disposable: frozenset[str]) -> dict[str, int]:
    """What the broker before this one lost: its last sample of unconsumed messages per topic, disposable
    topics aside (empty when it ended with everything consumed)."""
    return {t: n for t, n in previous.unconsumed.items() if n > 0 and t not in disposable}


def write(directory: Path, stats: BrokerStats) -> None:
    stats.updated = time.time()
    tmp = directory / (STATS + ".tmp")
    tmp.write_text(json.dumps(asdict(stats)))
    tmp.replace(directory / STATS)


def read(directory: Path) -> BrokerStats | None:
    """The stats of the embedded broker of `directory`, or None when it wrote none."""
    try:
        data = json.loads((directory / STATS).read_text())
    except (OSError, ValueError):
        return None
    known = {f.name for f in fields(BrokerStats)}
    try:
        return BrokerStats(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


MEMORY = Gauge("poolstream_broker_memory_bytes", "Resident memory of the embedded broker")
MEMORY_LIMIT = Gauge("poolstream_broker_memory_limit_bytes", "EMBEDDED_BROKER_MEMORY_LIMIT_MB in bytes")
RECYCLES = Gauge("poolstream_broker_recycles", "Times the embedded broker was recycled since it started")
PAUSE = Gauge("poolstream_broker_last_recycle_pause_seconds", "How long producers were held at the last recycle")
LOST = Gauge("poolstream_broker_lost_messages", "Messages earlier embedded brokers held unconsumed when they ended")
DROPPED = Gauge("poolstream_broker_dropped_unconsumed", "Messages of disposable topics nobody read, gone at recycles")


def export(directory: Path) -> None:
    """Serve the stats of `directory`'s broker as gauges, read at every scrape."""
    def reader(name: str) -> Callable[[], float]:
        def value() -> float:
            stats = read(directory)
            return float(getattr(stats, name)) if stats is not None else 0.0
        return value

    for gauge, name in ((MEMORY, "rss_bytes"), (MEMORY_LIMIT, "limit_bytes"), (RECYCLES, "recycles"),
                        (PAUSE, "last_pause_s"), (DROPPED, "dropped_unconsumed"), (LOST, "lost_messages")):
        gauge.set_function(reader(name))
