"""The job loop of one port: keeps its miners on current work.

Every `template_poll_s` (or at once when woken, e.g. after a block was submitted) it asks the `JobSource`
for a template and offers it to the port's `JobBook`; a new job (the tip moved, or `job_refresh_s` passed)
is sent as `mining.notify` to every mining connection and published on the `jobs` topic (for
re-verification downstream). A failing job source is counted and logged; the loop keeps polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection

from bus.publisher import Publisher
from schemas.algorithms import Algorithm
from schemas.clock import Clock
from sources.stratum import metrics
from sources.stratum import protocol as p
from sources.stratum.contracts import Connection
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import CoinbasePolicy, Job, JobSource, encode_job

log = logging.getLogger(__name__)


class JobLoop:
    """Polls `source` for `algorithm` and broadcasts new jobs to `sessions` (the port's live set)."""

    def __init__(
        self, algorithm: Algorithm, source: JobSource, book: JobBook, sessions: Collection[Connection],
        publisher: Publisher, topic: str, clock: Clock, policy: CoinbasePolicy, poll_s: float,
        time: Callable[[], float],
    ) -> None:  # fmt: skip
        self.algorithm = algorithm
        self._source = source
        self._book = book
        self._sessions = sessions
        self._publisher = publisher
        self._topic = topic
        self._clock = clock
        self._policy = policy
        self._poll_s = poll_s
        self._time = time
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll now rather than at the next interval (the chain tip probably moved)."""
        self._wake.set()

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()
            await self.poll()

    async def poll(self) -> None:
        """Ask the source once; broadcast the job the book makes of it, if any."""
        try:
            template = await self._source.template(self.algorithm)
        except Exception as exc:  # noqa: BLE001 - a node outage must not stop the loop; counted and logged
            metrics.JOB_ERRORS.labels(self.algorithm.wire).inc()
            log.warning("job source failed for %s: %s", self.algorithm.wire, exc)
            return
        job = self._book.offer(template, self._time())
        if job is not None:
            self._broadcast(job)

    def _broadcast(self, job: Job) -> None:
        line = p.notification("mining.notify", job.notify_params(job.clean))
        sent = 0
        for s in self._sessions:
            if s.mining and not s.closed:
                s.on_new_job(job, line, job.clean)
                s.flush()
                sent += 1
        metrics.JOBS_SENT.labels(self.algorithm.wire).inc(sent)
        self._publisher.publish(self._topic, encode_job(job, self._clock.now_ms(), self._policy),
                                key=job.job_id.encode())
