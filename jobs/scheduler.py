"""The APScheduler (3.x) scheduler of the batch side. A failed run is logged and the schedule kept."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


def _on_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_ERROR:
        log.error("job %s failed: %r (it stays scheduled)", event.job_id, event.exception)
    else:
        log.warning("job %s missed its run time", event.job_id)


def create_scheduler() -> AsyncIOScheduler:
    """A UTC scheduler on the running event loop; jobs coalesce missed runs and never overlap themselves."""
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                               "misfire_grace_time": 30})
    scheduler.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


class IntervalJob(Protocol):
    """A job of `jobs/`: an id, how often it runs, and the coroutine it runs."""

    id: str
    interval_s: float

    def run(self) -> Awaitable[Any]: ...


def schedule(scheduler: AsyncIOScheduler, job: IntervalJob) -> None:
    run: Callable[[], Awaitable[Any]] = job.run
    scheduler.add_job(run, "interval", seconds=job.interval_s, id=job.id)
