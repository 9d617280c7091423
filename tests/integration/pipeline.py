"""Helpers that run the real share pipeline (Faust agent + embedded broker + chDB) inside a test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from faust.contrib.asgi import faust_app_running

from bus.admin import topic_id
from bus.publisher import Publisher, PublisherSettings
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sinks.shares import ShareWriter
from streams.app import create_faust_app
from streams.settings import StreamSettings
from streams.shares import ShareIngest, attach
from tests.conftest import unique


@dataclass
class Pipeline:
    ingest: ShareIngest
    clickhouse: Client


@contextlib.asynccontextmanager
async def running_pipeline(
    bootstrap: str, topics: TopicNames, clickhouse: Client, app_id: str | None = None, **overrides: object
) -> AsyncIterator[Pipeline]:
    settings = StreamSettings(bootstrap=bootstrap, app_id=app_id or unique("g"), flush_interval_s=0.2,
                              **overrides)  # type: ignore[arg-type]
    app = create_faust_app(settings)
    ingest = ShareIngest(settings, topics, ShareWriter(clickhouse), Publisher(PublisherSettings(bootstrap)),
                         SystemClock())
    ingest.topic_ids[topics.shares] = await asyncio.to_thread(topic_id, bootstrap, topics.shares)
    await asyncio.to_thread(ingest.restore)
    attach(app, ingest)
    async with faust_app_running(app, stop_timeout=30):
        yield Pipeline(ingest, clickhouse)
    await ingest.runtime.stored()


async def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition",
                   pipeline: Pipeline | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pipeline is not None and pipeline.ingest.error is not None:
            raise AssertionError(f"the share agent failed: {pipeline.ingest.error!r}")
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
