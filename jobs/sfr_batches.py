"""The SFR rewards' scheduled batches (issue 11): the daily and the monthly run, as APScheduler interval jobs.

Each job looks every `interval_s` (SFR_JOB_INTERVAL_S, default 10 min) and calls its run (injected by
poolstream/sfr_jobs.py: api/rewards/daily.py and monthly.py, also behind `POST /rewards/batch/daily|monthly`).
A run is idempotent per period (one per UTC day, one per closed month), so the look is cheap once the period's
run succeeded, and a run missed while poolstream was stopped happens at the first look after the start. A
failed run is logged and retried at the next look.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Run(Protocol):
    """What a run reports back: enough for one log line."""

    @property
    def batch_id(self) -> str: ...

    @property
    def state(self) -> str: ...


class SfrBatchJob:
    """One periodic rewards batch (`sfr_daily` or `sfr_monthly`)."""

    def __init__(self, job_id: str, run_batch: Callable[[], Awaitable[tuple[Run, bool]]], *,
                 interval_s: float = 600.0) -> None:
        self.id = job_id
        self.interval_s = interval_s
        self._run_batch = run_batch

    async def run(self) -> str:
        """Run the batch of the current period unless it already ran; returns its state."""
        run, already = await self._run_batch()
        if not already:
            level = logging.INFO if run.state == "succeeded" else logging.ERROR
            log.log(level, "%s: batch %s %s", self.id, run.batch_id, run.state)
        return run.state
