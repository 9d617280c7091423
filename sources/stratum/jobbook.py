"""The live jobs of one port: which job_ids a submit may refer to, which are stale, and when to issue a
new job (the chain tip moved -> clean job; the refresh interval passed -> new job_id, same tip)."""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque

from sources.stratum.jobs import BlockTemplate, CoinbasePolicy, Job, build_job

RETIRED_KEPT = 4096


class JobBook:
    _ids = itertools.count(1)  # job ids are unique across the ports of a process

    @classmethod
    def new_id(cls) -> str:
        """A fresh job_id (also used by a session to re-announce a job under a new id)."""
        return f"{next(cls._ids):x}"

    def __init__(self, policy: CoinbasePolicy, jobs_kept: int, refresh_s: float) -> None:
        self.policy = policy
        self.jobs_kept = jobs_kept
        self.refresh_s = refresh_s
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.current: Job | None = None
        self._retired: set[str] = set()
        self._retired_order: deque[str] = deque()

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def is_retired(self, job_id: str) -> bool:
        return job_id in self._retired

    def _retire(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)
        self._retired.add(job_id)
        self._retired_order.append(job_id)
        while len(self._retired_order) > RETIRED_KEPT:
            self._retired.discard(self._retired_order.popleft())

    def offer(self, template: BlockTemplate, now: float, force: bool = False) -> Job | None:
        """The new job to broadcast for `template`, or None if the current one is still good."""
        cur = self.current
        clean = cur is None or template.prevhash != cur.template.prevhash
        if not clean and not force and cur is not None and now - cur.created < self.refresh_s:
            return None
        job = build_job(self.new_id(), template, self.policy, template.curtime, clean, now)
        if clean:
            for old in list(self.jobs):
                self._retire(old)
        self.jobs[job.job_id] = job
        while len(self.jobs) > self.jobs_kept:
            self._retire(next(iter(self.jobs)))
        self.current = job
        return job
