"""Job `consumer-lag`: every 15 s, the pipeline group's lag per input topic → `poolstream_consumer_lag{topic}`.

Runs in the scheduler of `poolstream run` (and `poolstream scheduler`), so the gauge stays fresh for
Prometheus whether or not anyone calls the health endpoint. A failed read is logged by the scheduler and
the job keeps its schedule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bus.lag import Lag, consumer_lags, record

log = logging.getLogger(__name__)


@dataclass
class ConsumerLagJob:
    bootstrap: str
    group_id: str
    topics: Sequence[str]
    id: str = "consumer-lag"
    interval_s: float = 15.0

    async def run(self) -> list[Lag]:
        lags = await asyncio.to_thread(consumer_lags, self.bootstrap, self.group_id, self.topics)
        record(lags)
        for lag in lags:
            if lag.error:
                log.warning("consumer lag of %s unreadable: %s", lag.topic, lag.error)
        return lags
