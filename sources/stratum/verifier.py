"""Batched share verification: one numba kernel call rebuilds coinbase -> merkle root -> header -> PoW hash
for a whole batch. The submits read in one event loop iteration form a batch (or `wait_s`, or `batch_max`):
a small SHA256d batch is hashed on the loop at once when no verify thread is busy (cheaper than the trip to
a thread and back, and its answers leave in the same iteration); bigger ones, and every scrypt batch, go to
the worker threads (the kernels release the GIL) while the loop keeps serving connections."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kernels.stratum_header import verify_submits
from kernels.targets import meets_target_rows
from sources.stratum.identity import Worker
from sources.stratum.jobs import Job


class PendingSubmit:
    """A syntactically valid, non-duplicate submit waiting for its hash. `owner` is the connection that sent
    it (a `contracts.Connection`: its verdict goes back there), `worker` the authorized `Worker` it names.
    `target_le` is the target the share must meet: that of the difficulty its job_id was announced with on
    the connection, or of the current difficulty if lower. `strict_target` (0: unused) allows crediting a
    second, higher difficulty."""

    __slots__ = ("owner", "msg_id", "job", "extranonce1", "extranonce2", "coinbase", "ntime", "nonce", "target_le",
                 "difficulty", "strict_target", "fallback_difficulty", "worker", "received")

    def __init__(
        self, owner: Any, msg_id: Any, job: Job, extranonce1: bytes, extranonce2: bytes, ntime: int, nonce: int,
        target_le: bytes, difficulty: float, strict_target: int, fallback_difficulty: float, worker: Worker,
        received: float,
    ) -> None:  # fmt: skip
        self.owner = owner
        self.msg_id = msg_id
        self.job = job
        self.extranonce1 = extranonce1
        self.extranonce2 = extranonce2
        self.coinbase = job.coinb1 + extranonce1 + extranonce2 + job.coinb2
        self.ntime = ntime
        self.nonce = nonce
        self.target_le = target_le
        self.difficulty = difficulty  # credited when the hash meets strict_target
        self.strict_target = strict_target  # 0: no fallback, target_le is the only target
        self.fallback_difficulty = fallback_difficulty  # credited when it meets only target_le
        self.worker = worker
        self.received = received


@dataclass
class BatchResult:
    items: list[PendingSubmit]
    headers: NDArray[np.uint8]
    hashes: NDArray[np.uint8]
    share_ok: list[bool]
    block_ok: list[bool]
    seconds: float  # kernel wall time


def verify_batch(algorithm: str, items: list[PendingSubmit]) -> BatchResult:
    """Hash a batch and compare with each share's and job's target (in a worker thread, or on the event loop
    for a small batch). Every array is built in the dtype and layout the kernels take, so they copy nothing."""
    t0 = time.perf_counter()
    n = len(items)
    job_index: dict[Job, int] = {}  # Job hashes by identity
    idx = np.array([job_index.setdefault(it.job, len(job_index)) for it in items], np.intp)
    jobs = list(job_index)
    coinbases = [it.coinbase for it in items]
    flat = np.frombuffer(bytearray(b"".join(coinbases)), np.uint8)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, coinbases), np.int64, n), out=offsets[1:])
    ntimes = np.array([it.ntime for it in items], np.uint32)
    nonces = np.array([it.nonce for it in items], np.uint32)
    targets = np.frombuffer(bytearray(b"".join([it.target_le for it in items])), np.uint8).reshape(n, 32)
    # per job, then one row per share (fancy indexing makes C-contiguous, writable copies)
    kmax = max(len(j.branch) for j in jobs)
    branch_table = np.zeros((len(jobs), max(kmax, 1), 32), np.uint8)
    for k, j in enumerate(jobs):
        if j.branch:
            branch_table[k, : len(j.branch)] = j.branch_array
    per_job = np.array([(len(j.branch), j.template.version, j.template.nbits) for j in jobs], np.uint32)[idx]
    tables = np.frombuffer(
        b"".join([j.prevhash_stratum + min(j.network_target, (1 << 256) - 1).to_bytes(32, "little") for j in jobs]),
        np.uint8,
    ).reshape(-1, 64)[idx]
    headers, hashes = verify_submits(
        flat, offsets, branch_table[idx], np.ascontiguousarray(per_job[:, 0]), np.ascontiguousarray(per_job[:, 1]),
        np.ascontiguousarray(tables[:, :32]), ntimes, np.ascontiguousarray(per_job[:, 2]), nonces,
        algorithm=algorithm,
    )  # fmt: skip
    share_ok = meets_target_rows(hashes, targets).tolist()
    block_ok = meets_target_rows(hashes, np.ascontiguousarray(tables[:, 32:])).tolist()
    return BatchResult(items, headers, hashes, share_ok, block_ok, time.perf_counter() - t0)


def warm_up(algorithm: str) -> float:
    """Compile (or load from numba's cache) the kernels of `algorithm` before the first miner waits on them:
    a cold compile takes seconds, longer than a miner's patience for its first answer. Returns seconds."""
    t0 = time.perf_counter()
    one = np.ones(1, np.uint32)
    _, hashes = verify_submits(
        np.zeros(64, np.uint8), np.array([0, 64], np.int64), np.zeros((1, 1, 32), np.uint8), np.zeros(1, np.uint32),
        one, np.zeros((1, 32), np.uint8), one, np.full(1, 0x1D00FFFF, np.uint32), one, algorithm=algorithm,
    )
    meets_target_rows(hashes, np.full((1, 32), 0xFF, np.uint8))
    return time.perf_counter() - t0


#: The largest batch hashed on the event loop itself (when no verify thread is busy), per algorithm: 64 SHA256d
#: submits take ~0.3 ms, about what the hand-over to a thread and back costs the loop for a few submits.
#: Scrypt (~0.25 ms a hash) always goes to the threads.
INLINE_MAX = {"sha256d": 64}


class BatchVerifier:
    """Collects submits of one algorithm and verifies them in batches, small ones inline, others on `executor`.

    A batch starts at the end of the loop iteration in which its first submit arrived (`wait_s` = 0), or
    `wait_s` later, or as soon as `batch_max` are queued. At most `max_inflight` batches run on `executor`
    at once: what arrives meanwhile waits for one of them (the queue is the backpressure). `on_done` is
    called on the event loop with each result, `on_failed` when the kernel raised.
    """

    def __init__(
        self,
        algorithm: str,
        executor: Executor,
        on_done: Callable[[BatchResult], None],
        on_failed: Callable[[list[PendingSubmit], BaseException], None],
        batch_max: int,
        wait_s: float,
        max_inflight: int,
    ) -> None:
        self.algorithm = algorithm
        self._executor = executor
        self._on_done = on_done
        self._on_failed = on_failed
        self._batch_max = batch_max
        self._wait_s = wait_s
        self._max_inflight = max_inflight
        self._inline_max = INLINE_MAX.get(algorithm, 0)
        self._pending: list[PendingSubmit] = []
        self._timer: asyncio.Handle | None = None
        self._inflight: set[asyncio.Future[BatchResult]] = set()
        self._loop = asyncio.get_running_loop()
        self.inline_batches = 0  # batches hashed on the event loop ...
        self.thread_batches = 0  # ... and on `executor`

    @property
    def queued(self) -> int:
        return len(self._pending)

    def add(self, item: PendingSubmit) -> None:
        self._pending.append(item)
        if len(self._pending) >= self._batch_max:
            self._flush(inline=False)  # (not inline: the session that called is still reading its line)
        elif self._timer is None:
            if self._wait_s > 0:
                self._timer = self._loop.call_later(self._wait_s, self._flush)
            else:  # after the callbacks of this iteration: once every socket found ready has been read
                self._timer = self._loop.call_soon(self._flush)

    def _flush(self, inline: bool = True) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if inline and self._inline_next():
            self._verify_inline()
            return
        while self._pending and len(self._inflight) < self._max_inflight:
            # Spread what is waiting over the free threads (scrypt batches are CPU-heavy).
            free = self._max_inflight - len(self._inflight)
            size = min(self._batch_max, -(-len(self._pending) // free))
            batch = self._pending[:size]
            del self._pending[:size]
            fut = self._loop.run_in_executor(self._executor, verify_batch, self.algorithm, batch)
            self.thread_batches += 1
            self._inflight.add(fut)
            fut.add_done_callback(functools.partial(self._done, batch))
        # Anything left waits for a running batch to finish (see _done): the queue is the backpressure.

    def _inline_next(self) -> bool:
        return not self._inflight and 0 < len(self._pending) <= self._inline_max

    def _verify_inline(self) -> None:
        batch = self._pending
        self._pending = []
        self.inline_batches += 1
        try:
            res = verify_batch(self.algorithm, batch)
        except Exception as exc:  # a kernel bug: the submits are answered error 20 (Verdicts.on_verify_failed)
            self._on_failed(batch, exc)
        else:
            self._on_done(res)

    def _done(self, batch: list[PendingSubmit], fut: asyncio.Future[BatchResult]) -> None:
        self._inflight.discard(fut)
        if self._pending and self._timer is None and not self._inline_next():
            self._flush()  # a thread gets the next batch before the loop answers this one
        exc = fut.exception()
        if exc is not None:
            self._on_failed(batch, exc)
        else:
            self._on_done(fut.result())
        if self._pending and self._timer is None and self._inline_next():
            self._flush()  # a small batch is hashed here, after the older one was answered

    async def drain(self) -> None:
        """Verify everything queued and wait for it (shutdown)."""
        while self._pending or self._inflight:
            self._flush()
            if self._inflight:
                await asyncio.wait(list(self._inflight))
            await asyncio.sleep(0)
