"""The batch verifier's scheduling: what one loop iteration queued is one batch, a small SHA256d batch is
hashed on the loop at once, bigger ones and scrypt go to the threads, and every submit gets exactly one
verdict, checked with hashlib."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest

from schemas.algorithms import Algorithm
from schemas.clock import FixedClock
from sources.stratum.identity import Worker
from sources.stratum.jobs import CoinbasePolicy, Job, build_job
from sources.stratum.settings import StratumSettings
from sources.stratum.template_source import TemplateJobSource
from sources.stratum.verifier import INLINE_MAX, BatchResult, BatchVerifier, PendingSubmit

POLICY = CoinbasePolicy(4, 4, b"/poolstream/", bytes.fromhex("0014" + "00" * 20))
CLOCK = FixedClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
HALF = (1 << 255).to_bytes(32, "little")  # about one hash in two meets it


def job_for(algorithm: Algorithm) -> Job:
    template = asyncio.run(TemplateJobSource(StratumSettings(), CLOCK).template(algorithm))
    return build_job("j1", template, POLICY, template.curtime, True, 0.0)


def submits(job: Job, n: int, start: int = 0) -> list[PendingSubmit]:
    worker = Worker("m", "w", "BTC", 0)
    return [PendingSubmit(None, i, job, b"\x00\x00\x00\x01", i.to_bytes(4, "big"), job.ntime, i * 7919, HALF, 1.0, 0,
                          1.0, worker, 0.0) for i in range(start, start + n)]  # fmt: skip


def expected(algorithm: Algorithm, it: PendingSubmit) -> bool:
    header = it.job.header(it.extranonce1, it.extranonce2, it.ntime, it.nonce)
    if algorithm is Algorithm.SCRYPT:
        digest = hashlib.scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
    else:
        digest = hashlib.sha256(hashlib.sha256(header).digest()).digest()
    return int.from_bytes(digest, "little") <= int.from_bytes(it.target_le, "little")


class CountingExecutor(Executor):
    """A thread pool that counts the batches handed to it."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(2)
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


class Run:
    """A verifier on a running loop, recording each batch it hands back."""

    def __init__(self, algorithm: Algorithm, wait_s: float = 0.0, max_inflight: int = 2) -> None:
        self.executor = CountingExecutor()
        self.done: list[BatchResult] = []
        self.failed: list[tuple[list[PendingSubmit], BaseException]] = []
        self.verifier = BatchVerifier(algorithm.wire, self.executor, self.done.append,
                                      lambda items, exc: self.failed.append((items, exc)), 4096, wait_s,
                                      max_inflight)  # fmt: skip

    def verdicts(self) -> dict[int, bool]:
        out: dict[int, bool] = {}
        for res in self.done:
            for it, ok in zip(res.items, res.share_ok, strict=True):
                assert it.msg_id not in out, "a submit got two verdicts"
                out[it.msg_id] = ok
        return out


def test_what_one_iteration_queued_is_one_batch_hashed_on_the_loop() -> None:
    job = job_for(Algorithm.SHA256D)
    items = submits(job, 10)

    async def main() -> Run:
        run = Run(Algorithm.SHA256D)
        for it in items:
            run.verifier.add(it)
        assert run.done == []  # not before the loop has read everything ready this iteration
        await asyncio.sleep(0)
        assert [len(r.items) for r in run.done] == [10]  # the next iteration: all of them, at once
        return run

    run = asyncio.run(main())
    assert run.executor.calls == 0 and run.verifier.inline_batches == 1 and run.verifier.thread_batches == 0
    assert run.verdicts() == {it.msg_id: expected(Algorithm.SHA256D, it) for it in items}
    assert 0 < sum(run.verdicts().values()) < len(items)  # both verdicts occur
    run.executor.shutdown()


def test_big_batches_and_scrypt_go_to_the_threads() -> None:
    sha, scrypt = job_for(Algorithm.SHA256D), job_for(Algorithm.SCRYPT)
    big = submits(sha, INLINE_MAX["sha256d"] + 1)
    small_scrypt = submits(scrypt, 3)

    async def main() -> tuple[Run, Run]:
        runs = Run(Algorithm.SHA256D), Run(Algorithm.SCRYPT)
        for run, items in zip(runs, (big, small_scrypt), strict=True):
            for it in items:
                run.verifier.add(it)
        for run in runs:
            await run.verifier.drain()
        return runs

    sha_run, scrypt_run = asyncio.run(main())
    assert sha_run.verifier.inline_batches == 0 and sha_run.executor.calls == 2  # spread over both threads
    assert sha_run.verdicts() == {it.msg_id: expected(Algorithm.SHA256D, it) for it in big}
    assert scrypt_run.verifier.inline_batches == 0 and scrypt_run.executor.calls == 2  # 2 + 1
    assert scrypt_run.verdicts() == {it.msg_id: expected(Algorithm.SCRYPT, it) for it in small_scrypt}
    for run in (sha_run, scrypt_run):
        run.executor.shutdown()


def test_a_small_batch_waits_for_a_busy_thread_then_is_hashed_inline() -> None:
    job = job_for(Algorithm.SHA256D)
    first, second = submits(job, 100), submits(job, 5, start=100)

    async def main() -> Run:
        run = Run(Algorithm.SHA256D, max_inflight=1)
        for it in first:
            run.verifier.add(it)
        await asyncio.sleep(0)  # the 100 went to the thread
        for it in second:
            run.verifier.add(it)
        await asyncio.sleep(0)  # the thread is busy: the 5 wait, the loop does not hash beside it
        assert run.verifier.queued == 5 and run.verifier.inline_batches == 0
        await run.verifier.drain()
        return run

    run = asyncio.run(main())
    assert [len(r.items) for r in run.done] == [100, 5]
    assert run.verifier.thread_batches == 1 and run.verifier.inline_batches == 1
    assert run.verdicts() == {it.msg_id: expected(Algorithm.SHA256D, it) for it in first + second}
    run.executor.shutdown()


def test_a_wait_keeps_filling_the_batch() -> None:
    job = job_for(Algorithm.SHA256D)
    items = submits(job, 6)

    async def main() -> Run:
        run = Run(Algorithm.SHA256D, wait_s=0.05)
        for it in items[:3]:
            run.verifier.add(it)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert run.done == []  # still waiting to fill
        for it in items[3:]:
            run.verifier.add(it)
        await asyncio.sleep(0.2)
        return run

    run = asyncio.run(main())
    assert [len(r.items) for r in run.done] == [6]
    run.executor.shutdown()


def test_a_kernel_failure_on_the_loop_is_routed_to_on_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    job = job_for(Algorithm.SHA256D)
    items = submits(job, 4)

    def broken(algorithm: str, batch: list[PendingSubmit]) -> BatchResult:
        raise RuntimeError("kernel bug")

    monkeypatch.setattr("sources.stratum.verifier.verify_batch", broken)

    async def main() -> Run:
        run = Run(Algorithm.SHA256D)
        for it in items:
            run.verifier.add(it)
        await asyncio.sleep(0)
        return run

    run = asyncio.run(main())
    assert run.done == [] and len(run.failed) == 1
    assert run.failed[0][0] == items and str(run.failed[0][1]) == "kernel bug"
    run.executor.shutdown()
