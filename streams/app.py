"""The Faust app: one per process, built from `StreamSettings` by the composition root.

A factory rather than a module-level app because the broker address, app id (consumer group) and topic
names come from settings — and tests need fresh ones per session. Agents are attached by `streams.shares` and
`streams.blocks` (through `streams.faust_source.register`; the share agent by fetch, `streams.faust_batches`).
"""

from __future__ import annotations

import faust

from streams.faust_batches import BatchingApp
from streams.settings import StreamSettings


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def create_faust_app(settings: StreamSettings) -> faust.App:
    """The app, its consumer able to deliver batched topics by fetch (`streams.faust_batches`)."""
    return BatchingApp(
        settings.app_id,
        broker=broker_url(settings.bootstrap),
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_s,
        broker_commit_every=1_000_000,
        stream_buffer_maxsize=max(4 * settings.max_messages, 8_192),
        consumer_max_fetch_size=64 * 1024 * 1024,
        producer_max_request_size=16 * 1024 * 1024,
        stream_wait_empty=False,
        # The embedded broker holds a new group's first join for the rebalance timeout; keep it short.
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=max(settings.rebalance_timeout_s, 10.0),
        broker_heartbeat_interval=1.0,
    )
