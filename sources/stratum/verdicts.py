"""The verdicts of one port's submits, in one place: the miner's answer, the share event (one row per submit,
accepted or with its rejection reason, built by `events.ShareRecorder.record`), the submit counters, a vote
toward banning the IP, vardiff, and block candidates.

Three paths lead here: a batch the kernels verified (`on_verified`, the hot path), a batch whose kernel call
raised (`on_verify_failed`: error 20, rows `invalid`), and a submit the session rejected before hashing
(`rejected`: stale, duplicate, malformed, unauthorized, ...). All run on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from schemas.clock import Clock
from sources.stratum import metrics
from sources.stratum import protocol as p
from sources.stratum.admission import Admission
from sources.stratum.blocks import BlockSubmitter
from sources.stratum.contracts import Connection
from sources.stratum.events import ShareRecorder
from sources.stratum.identity import Worker
from sources.stratum.jobs import Job
from sources.stratum.protocol import StratumError
from sources.stratum.verifier import BatchResult, PendingSubmit

log = logging.getLogger(__name__)


class Verdicts:
    """Turns the outcome of every submit on one port into answers, share events and their side effects."""

    def __init__(
        self, algorithm: str, recorder: ShareRecorder, admission: Admission, blocks: BlockSubmitter, clock: Clock,
        time: Callable[[], float], bucket_of: Callable[[str], int],
    ) -> None:  # fmt: skip
        self.algorithm = algorithm
        self._record = recorder.record
        self._admission = admission
        self._blocks = blocks
        self._clock = clock
        self._time = time
        self._bucket_of = bucket_of
        self._counters: dict[str, Any] = {}
        self._verify_seconds = metrics.VERIFY_SECONDS.labels(algorithm)
        self._batch_size = metrics.KERNEL_BATCH.labels(algorithm)

    def _count(self, result: str, n: int = 1) -> None:
        c = self._counters.get(result)
        if c is None:
            c = self._counters[result] = metrics.SUBMITS.labels(self.algorithm, result)
        c.inc(n)

    def on_verified(self, res: BatchResult) -> None:
        """Answer, account and publish a verified batch."""
        now = self._time()
        ts = self._clock.now_ms()
        touched: set[Connection] = set()
        accepted = low = 0
        alg = self.algorithm
        record = self._record
        judge = self._admission.judge_or_none
        share_ok, block_ok, hashes = res.share_ok, res.block_ok, res.hashes
        for i, it in enumerate(res.items):
            s: Connection = it.owner
            ok = share_ok[i]
            if ok:
                difficulty = it.difficulty
                if it.strict_target and int.from_bytes(hashes[i].tobytes(), "little") > it.strict_target:
                    difficulty = it.fallback_difficulty
                result = "accepted"
                accepted += 1
                s.answer(p.accepted(it.msg_id))
            else:
                difficulty = it.fallback_difficulty
                result = "low_difficulty"
                low += 1
                s.answer(p.error(it.msg_id, StratumError.LOW_DIFFICULTY, "Low difficulty share"))
            job = it.job
            w = it.worker
            record(w.bucket, ts, alg, w.miner, w.worker, difficulty, job.network_difficulty, result, job.job_id,
                   it.extranonce2.hex(), it.ntime, it.nonce, s.ip, s.hardware, w.coin)  # fmt: skip
            if ok and block_ok[i]:
                self._blocks.found(it, res.headers[i].tobytes(), difficulty)
            if judge is not None:
                judge(s, result)
            if ok:
                vardiff = s.vardiff
                if vardiff is not None:
                    # a share of an older, easier job counts for the fraction of work it proves
                    new = vardiff.on_share(now, min(1.0, difficulty / vardiff.difficulty))
                    if new is not None:
                        s.set_difficulty(new)
            touched.add(s)
        for s in touched:
            s.flush()
        if res.items:
            if accepted:
                self._count("accepted", accepted)
            if low:
                self._count("low_difficulty", low)
            self._verify_seconds.observe(now - res.items[0].received)
            self._batch_size.observe(len(res.items))

    def on_verify_failed(self, items: list[PendingSubmit], exc: BaseException) -> None:
        """The kernel raised (a bug, not a miner's fault): answer error 20, record the shares as invalid."""
        log.error("share verification failed for %d submits: %r", len(items), exc)
        ts = self._clock.now_ms()
        for it in items:
            s: Connection = it.owner
            s.answer(p.error(it.msg_id, StratumError.OTHER, "Internal error"))
            job, w = it.job, it.worker
            self._record(w.bucket, ts, self.algorithm, w.miner, w.worker, it.difficulty, job.network_difficulty,
                         "invalid", job.job_id, it.extranonce2.hex(), it.ntime, it.nonce, s.ip, s.hardware,
                         w.coin)  # fmt: skip
            s.flush()
        self._count("invalid", len(items))

    def rejected(
        self, conn: Connection, worker: Worker | None, params: list[Any], reason: str, job: Job | None
    ) -> None:
        """A submit rejected before hashing (the session already answered): still a share event, with
        whatever identity it carried (an unauthorized user's address and worker, coin ``""``)."""
        self._count(reason)
        if worker is None:
            user = params[0] if params and isinstance(params[0], str) else ""
            miner, _, name = user.partition(".")
            worker = Worker(miner[:128], name[:64], "", self._bucket_of(miner[:128]))
        job_id = params[1] if len(params) > 1 and isinstance(params[1], str) else ""
        en2 = params[2] if len(params) > 2 and isinstance(params[2], str) else ""
        ntime = _hex_u32(params[3] if len(params) > 3 else None)
        nonce = _hex_u32(params[4] if len(params) > 4 else None)
        net = job.network_difficulty if job is not None else 0.0
        self._record(worker.bucket, self._clock.now_ms(), self.algorithm, worker.miner, worker.worker,
                     conn.difficulty, net, reason, job_id[:64], en2[:32], ntime, nonce, conn.ip, conn.hardware,
                     worker.coin)  # fmt: skip
        judge = self._admission.judge_or_none
        if judge is not None:
            judge(conn, reason)


def _hex_u32(value: object) -> int:
    if isinstance(value, str) and len(value) == 8:
        with contextlib.suppress(ValueError):
            return int(value, 16)
    return 0
