"""Prometheus metrics of the gateway (default registry): connections, submits by result, verify latency,
refused connections, blocks found, job source errors."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge(
    "poolstream_stratum_connections", "Open Stratum connections", ["algorithm"]
)
SUBMITS = Counter(
    "poolstream_stratum_submits", "mining.submit calls by verdict", ["algorithm", "result"]
)
VERIFY_SECONDS = Histogram(
    "poolstream_stratum_verify_seconds",
    "Time from a submit's arrival to its verdict (batch wait + kernel)",
    ["algorithm"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
KERNEL_BATCH = Histogram(
    "poolstream_stratum_verify_batch_size", "Submits per verification kernel call", ["algorithm"],
    buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384),
)
REFUSED = Counter(
    "poolstream_stratum_refused_connections", "Connections refused or closed by a safety rule", ["reason"]
)
BLOCKS = Counter("poolstream_stratum_blocks_found", "Shares that met the network target", ["algorithm"])
JOB_ERRORS = Counter("poolstream_stratum_job_source_errors", "Failed job source calls", ["algorithm"])


def refused(reason: str) -> None:
    """A connection refused or closed by a safety rule (limit, ban, idle, slow client, line too long)."""
    REFUSED.labels(reason).inc()
