"""`poolstream stratum`: run the gateway alone until SIGINT/SIGTERM, then close it and flush the publisher."""

from __future__ import annotations

import asyncio
import logging
import signal

from bus.publisher import Publisher, PublisherSettings
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sources.stratum.gateway import serve
from sources.stratum.jobs import JobSource
from sources.stratum.settings import StratumSettings

log = logging.getLogger(__name__)


async def run_until_signalled(
    settings: StratumSettings, publisher: Publisher, topics: TopicNames, job_source: JobSource | None = None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    gateway = await serve(settings, publisher, topics, SystemClock(), job_source)
    try:
        await stop.wait()
        log.info("stratum: stopping")
    finally:
        await gateway.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(
    settings: StratumSettings,
    publisher_settings: PublisherSettings,
    topics: TopicNames,
    job_source: JobSource | None = None,
) -> None:
    """Blocking entry point: serve until SIGINT/SIGTERM, then close cleanly (every share published). Jobs come
    from `job_source` if given, else as `settings` say (a node when `node_url` is set)."""
    publisher = Publisher(publisher_settings)
    try:
        asyncio.run(run_until_signalled(settings, publisher, topics, job_source))
    finally:
        publisher.close()
