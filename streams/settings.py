"""Settings of the stream-processing side (the Faust worker and its agents)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSettings:
    bootstrap: str = ""  # the broker in use; the composition root sets it (an embedded one starts late)
    app_id: str = "poolstream"  # also the Kafka consumer group id
    max_rows: int = 200_000  # flush a share batch at this many rows ...
    flush_interval_s: float = 0.5  # ... or when its oldest message waited this long
    max_messages: int = 100  # messages taken from the stream at a time
    dedup_window_s: int = 300  # a resubmitted share within this window is a DUPLICATE
    max_past_s: int = 3_600  # share time may precede its publication by this much ...
    max_future_s: int = 300  # ... and follow it by this much (clock skew)
    commit_interval_s: float = 1.0
    partitions: int = 4
    rebalance_timeout_s: float = 3.0
