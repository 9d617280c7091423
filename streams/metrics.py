"""Prometheus metrics of the stream agents (default registry; served by the API at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SHARES_IN = Counter("poolstream_shares_ingested_total", "Share events consumed and stored", ["status"])
SHARES_REJECTED = Counter("poolstream_shares_rejected_total", "Shares rejected, by reason", ["reason"])
MESSAGES_MALFORMED = Counter(
    "poolstream_messages_malformed_total", "Messages that could not be decoded (sent to the dead-letter topic)", ["topic"]
)
DEAD_LETTERS = Counter(
    "poolstream_dead_letters_total",
    "Events routed to a dead-letter topic (topic: the dead-letter topic), by reason: undecodable messages "
    "(reason malformed) and rejected rows (their status)",
    ["topic", "reason"],
)
MESSAGES_REPLAYED = Counter(
    "poolstream_messages_replayed_total", "Messages skipped because ClickHouse already holds them (replays)", ["topic"]
)
SINK_BATCH_SECONDS = Histogram(
    "poolstream_sink_batch_seconds",
    "Time to make one batch durable in ClickHouse",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SINK_BATCH_ROWS = Histogram(
    "poolstream_sink_batch_rows", "Rows per ClickHouse batch", ["table"],
    buckets=(1, 10, 100, 1_000, 10_000, 50_000, 100_000, 250_000, 1_000_000),
)
AGENT_FAILURES = Counter(
    "poolstream_agent_failures_total", "Failed steps of an agent's batches (each is retried) and agent deaths",
    ["agent"],
)
AGENT_UP = Gauge("poolstream_agent_up", "1 while the agent is consuming and its last step succeeded", ["agent"])
