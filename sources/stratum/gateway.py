"""The Stratum V1 gateway: listeners (one port per algorithm), connection limits and bans, the job loop,
verdicts of verified batches (answers, vardiff, share events, block candidates) and a clean shutdown.

Every submit becomes a share event on `shares`, accepted or with its rejection reason; a share meeting the
network target is also published to `blocks` and handed to the job source (`submitblock` on a real node).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bus.publisher import Publisher
from schemas.algorithms import Algorithm
from schemas.block import Block
from schemas.clock import Clock
from schemas.topics import TopicNames
from sources.stratum import coinbase as cb
from sources.stratum import metrics
from sources.stratum import protocol as p
from sources.stratum.events import ShareRecorder, ShareRow, partition_of, publish_block
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import CoinbasePolicy, Job, JobSource, encode_job
from sources.stratum.protocol import StratumError
from sources.stratum.session import Session, Worker
from sources.stratum.settings import PortSettings, StratumSettings
from sources.stratum.template_source import TemplateJobSource
from sources.stratum.vardiff import VardiffPolicy
from sources.stratum.verifier import BatchResult, BatchVerifier, PendingSubmit, warm_up

log = logging.getLogger(__name__)

EXTRANONCE1_SIZE = 4
INVALID_FOR_BAN = frozenset({"low_difficulty", "malformed", "invalid", "duplicate"})


class PortRuntime:
    """Everything one listening port owns: its sessions, job book and batch verifier."""

    def __init__(self, gateway: StratumGateway, settings: PortSettings, policy: CoinbasePolicy) -> None:
        s = gateway.settings
        self.gateway = gateway
        self.settings = settings
        self.algorithm = settings.algorithm
        self.book = JobBook(policy, s.jobs_kept, s.job_refresh_s)
        self.sessions: set[Session] = set()
        self.vardiff_policy = VardiffPolicy(
            s.vardiff_target_s, s.vardiff_retarget_s, s.vardiff_variance,
            settings.min_difficulty, settings.max_difficulty,
        )  # fmt: skip
        self.verifier = BatchVerifier(
            settings.algorithm.wire, gateway.executor, gateway.on_verified, gateway.on_verify_failed,
            s.verify_batch_max, s.verify_batch_wait_ms / 1000, s.verify_threads,
        )  # fmt: skip
        self.server: asyncio.Server | None = None
        self.wake = asyncio.Event()  # ask the job loop to poll the source now (after a block)
        self.connections = metrics.CONNECTIONS.labels(self.algorithm.wire)

    def clamp(self, difficulty: float) -> float:
        return min(max(difficulty, self.settings.min_difficulty), self.settings.max_difficulty)

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        assert self.server is not None and self.server.sockets
        return int(self.server.sockets[0].getsockname()[1])


class StratumGateway:
    """A running gateway; build it with `serve()` and stop it with `close()`."""

    def __init__(
        self, settings: StratumSettings, publisher: Publisher, topics: TopicNames, clock: Clock,
        job_source: JobSource,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.publisher = publisher
        self.topics = topics
        self.clock = clock
        self.job_source = job_source
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor(settings.verify_threads, thread_name_prefix="stratum-verify")
        self.recorder = ShareRecorder(publisher, topics.shares, settings.share_partitions, settings.share_flush_max)
        policy = CoinbasePolicy(
            EXTRANONCE1_SIZE, settings.extranonce2_size, settings.coinbase_tag.encode(),
            bytes.fromhex(settings.coinbase_script_hex),
        )  # fmt: skip
        self.ports: dict[Algorithm, PortRuntime] = {
            ps.algorithm: PortRuntime(self, ps, policy) for ps in settings.ports
        }
        self.policy = policy
        self._en1 = int.from_bytes(os.urandom(4), "little")
        self._per_ip: dict[str, int] = defaultdict(int)
        self._total = 0
        self._banned: dict[str, float] = {}
        self._ip_stats: dict[str, list[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._bucket_cache: dict[str, int] = {}
        self._submit_counters: dict[tuple[str, str], Any] = {}
        self._closing = False
        self.en2_hex_len = 2 * settings.extranonce2_size
        self.ntime_future_s = settings.ntime_future_s

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        for rt in self.ports.values():
            seconds = await asyncio.to_thread(warm_up, rt.algorithm.wire)
            log.debug("stratum %s kernels ready in %.1fs", rt.algorithm.wire, seconds)
            await self._poll_jobs(rt)  # a job exists before the first miner connects
        for rt in self.ports.values():
            rt.server = await self.loop.create_server(
                lambda rt=rt: Session(rt), self.settings.host, rt.settings.port, backlog=4096  # type: ignore[misc]
            )
            self._tasks.append(asyncio.create_task(self._job_loop(rt), name=f"stratum-jobs-{rt.algorithm.wire}"))
            log.info("stratum %s listening on %s:%d", rt.algorithm.wire, self.settings.host, rt.port)
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="stratum-share-flush"))
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name="stratum-sweep"))

    def port(self, algorithm: Algorithm) -> int:
        return self.ports[algorithm].port

    async def close(self) -> None:
        """Stop accepting, close connections, verify what is queued, publish every share, flush."""
        if self._closing:
            return
        self._closing = True
        for rt in self.ports.values():
            if rt.server is not None:
                rt.server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for rt in self.ports.values():
            for s in rt.sessions:
                s.stop_reading()
        for rt in self.ports.values():
            await rt.verifier.drain()  # queued submits still get their verdict and their share event
            for s in list(rt.sessions):
                s.close()
        self.recorder.flush()
        await self.job_source.close()
        await asyncio.to_thread(self.publisher.flush, 30.0)
        self.executor.shutdown(wait=True)

    # -- connections -------------------------------------------------------------------------------
    def admit(self, session: Session) -> bool:
        s = self.settings
        ip = session.ip
        if self._closing:
            return False
        until = self._banned.get(ip)
        if until is not None:
            if until > self.loop.time():
                self.refused("banned")
                return False
            del self._banned[ip]
        if self._total >= s.max_connections:
            self.refused("max_connections")
            return False
        if self._per_ip[ip] >= s.max_connections_per_ip:
            self.refused("max_connections_per_ip")
            return False
        self._total += 1
        self._per_ip[ip] += 1
        session.port.sessions.add(session)
        session.port.connections.inc()
        return True

    def release(self, session: Session) -> None:
        if session not in session.port.sessions:
            return
        session.port.sessions.discard(session)
        session.port.connections.dec()
        self._total -= 1
        self._per_ip[session.ip] -= 1
        if self._per_ip[session.ip] <= 0:
            del self._per_ip[session.ip]

    @property
    def connection_count(self) -> int:
        return self._total

    def refused(self, reason: str) -> None:
        metrics.REFUSED.labels(reason).inc()

    def next_extranonce1(self) -> bytes:
        self._en1 = (self._en1 + 1) & 0xFFFFFFFF
        return self._en1.to_bytes(EXTRANONCE1_SIZE, "big")

    def bucket_of(self, miner: str) -> int:
        b = self._bucket_cache.get(miner)
        if b is None:
            if len(self._bucket_cache) > 1_000_000:
                self._bucket_cache.clear()
            b = self._bucket_cache[miner] = partition_of(miner, self.settings.share_partitions)
        return b

    # -- jobs ------------------------------------------------------------------------------------
    async def _poll_jobs(self, rt: PortRuntime, force: bool = False) -> None:
        try:
            template = await self.job_source.template(rt.algorithm)
        except Exception as exc:  # noqa: BLE001 - a node outage must not stop the loop; counted and logged
            metrics.JOB_ERRORS.labels(rt.algorithm.wire).inc()
            log.warning("job source failed for %s: %s", rt.algorithm.wire, exc)
            return
        job = rt.book.offer(template, self.loop.time(), force=force)
        if job is not None:
            self._broadcast(rt, job)

    def _broadcast(self, rt: PortRuntime, job: Job) -> None:
        line = p.notification("mining.notify", job.notify_params(job.clean))
        for s in rt.sessions:
            if s.mining and not s.closed:
                s.on_new_job(job, line, job.clean)
                s.flush()
        self.publisher.publish(self.topics.jobs, encode_job(job, self.clock.now_ms(), self.policy),
                               key=job.job_id.encode())

    async def _job_loop(self, rt: PortRuntime) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.wake.wait(), self.settings.template_poll_s)
            rt.wake.clear()
            await self._poll_jobs(rt)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.share_flush_ms / 1000)
            self.recorder.flush()

    async def _sweep_loop(self) -> None:
        interval = min(1.0, self.settings.idle_timeout_s / 4, self.settings.drain_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def sweep(self) -> None:
        """Close idle and stuck-slow connections; let vardiff lower the difficulty of silent miners."""
        now = self.loop.time()
        idle_before = now - self.settings.idle_timeout_s
        drain_before = now - self.settings.drain_timeout_s
        for rt in self.ports.values():
            for s in list(rt.sessions):
                if s.closed:
                    continue
                if s.last_read < idle_before:
                    self.refused("idle_timeout")
                    s.abort()
                elif s.write_paused_since and s.write_paused_since < drain_before:
                    self.refused("slow_client")
                    s.abort()
                elif s.vardiff is not None:
                    new = s.vardiff.on_tick(now)
                    if new is not None:
                        s.set_difficulty(new)
                        s.flush()

    # -- verdicts --------------------------------------------------------------------------------
    def _count(self, algorithm: str, result: str, n: int = 1) -> None:
        c = self._submit_counters.get((algorithm, result))
        if c is None:
            c = self._submit_counters[(algorithm, result)] = metrics.SUBMITS.labels(algorithm, result)
        c.inc(n)

    def _row(
        self, session: Session, miner: str, worker: str, difficulty: float, net_diff: float, result: str,
        job_id: str, en2: str, ntime: int, nonce: int,
    ) -> ShareRow:  # fmt: skip
        return (self.clock.now_ms(), session.port.algorithm.wire, miner, worker, difficulty, net_diff, result,
                job_id, en2, ntime, nonce, session.ip, session.hardware, "")

    def record_rejected(
        self, session: Session, worker: Worker | None, params: list[Any], reason: str, job: Job | None
    ) -> None:
        """A submit rejected before hashing: still a share event (with whatever identity it carried)."""
        alg = session.port.algorithm.wire
        self._count(alg, reason)
        if worker is None:
            user = params[0] if params and isinstance(params[0], str) else ""
            miner, _, wname = user.partition(".")
            worker = Worker(miner[:128], wname[:64], self.bucket_of(miner[:128]))
        ntime = _hex_u32(params[3] if len(params) > 3 else None)
        nonce = _hex_u32(params[4] if len(params) > 4 else None)
        en2 = params[2] if len(params) > 2 and isinstance(params[2], str) else ""
        job_id = params[1] if len(params) > 1 and isinstance(params[1], str) else ""
        net = job.network_difficulty if job is not None else 0.0
        self.recorder.add(
            worker.bucket,
            self._row(session, worker.miner, worker.worker, session.difficulty, net, reason, job_id[:64],
                      en2[:32], ntime, nonce),
        )
        self._judge_ip(session, reason)

    def _judge_ip(self, session: Session, reason: str) -> None:
        s = self.settings
        if not s.ban_time_s:
            return
        stats = self._ip_stats.get(session.ip)
        if stats is None:
            stats = self._ip_stats[session.ip] = [0, 0]
        stats[0] += 1
        if reason in INVALID_FOR_BAN:
            stats[1] += 1
        if stats[0] < s.ban_check_after:
            return
        total, invalid = stats
        del self._ip_stats[session.ip]
        if invalid * 100 > s.ban_invalid_percent * total:
            log.warning("banning %s for %.0fs: %d of %d shares invalid", session.ip, s.ban_time_s, invalid, total)
            self._banned[session.ip] = self.loop.time() + s.ban_time_s
            self.refused("banned")
            for rt in self.ports.values():
                for other in list(rt.sessions):
                    if other.ip == session.ip:
                        other.close()

    def on_verified(self, res: BatchResult) -> None:
        """Answer, account and publish a verified batch (on the event loop)."""
        now = self.loop.time()
        ts = self.clock.now_ms()
        touched: set[Session] = set()
        accepted = low = 0
        alg = res.items[0].job.algorithm.wire if res.items else ""
        add = self.recorder.add
        judge = self.settings.ban_time_s > 0
        for i, it in enumerate(res.items):
            s: Session = it.owner
            ok = res.share_ok[i]
            if ok:
                difficulty = it.difficulty
                if it.strict_target and int.from_bytes(res.hashes[i].tobytes(), "little") > it.strict_target:
                    difficulty = it.fallback_difficulty
                result = "accepted"
                accepted += 1
                s.write(p.accepted(it.msg_id))
            else:
                difficulty = it.fallback_difficulty
                result = "low_difficulty"
                low += 1
                s.write(p.error(it.msg_id, StratumError.LOW_DIFFICULTY, "Low difficulty share"))
            job = it.job
            add(
                it.bucket,
                (ts, alg, it.miner, it.worker, difficulty, job.network_difficulty, result,
                 job.job_id, it.extranonce2.hex(), it.ntime, it.nonce, s.ip, s.hardware, ""),
            )
            if ok and res.block_ok[i]:
                self._block_found(it, res.headers[i].tobytes(), res.hashes[i].tobytes(), difficulty)
            s.submit_done()
            if judge:
                self._judge_ip(s, result)
            if ok and s.vardiff is not None:
                # a share of an older, easier job counts for the fraction of work it proves
                new = s.vardiff.on_share(now, min(1.0, difficulty / s.vardiff.difficulty))
                if new is not None:
                    s.set_difficulty(new)
            touched.add(s)
        for s in touched:
            s.flush()
        if res.items:
            if accepted:
                self._count(alg, "accepted", accepted)
            if low:
                self._count(alg, "low_difficulty", low)
            metrics.VERIFY_SECONDS.labels(alg).observe(now - res.items[0].received)
            metrics.KERNEL_BATCH.labels(alg).observe(len(res.items))

    def on_verify_failed(self, items: list[PendingSubmit], exc: BaseException) -> None:
        """The kernel raised (a bug, not a miner's fault): answer error 20, record the shares as invalid."""
        log.error("share verification failed for %d submits: %r", len(items), exc)
        for it in items:
            s: Session = it.owner
            s.write(p.error(it.msg_id, StratumError.OTHER, "Internal error"))
            s.submit_done()
            self.recorder.add(
                it.bucket,
                (self.clock.now_ms(), it.job.algorithm.wire, it.miner, it.worker, it.difficulty,
                 it.job.network_difficulty, "invalid", it.job.job_id, it.extranonce2.hex(), it.ntime, it.nonce,
                 s.ip, s.hardware, ""),
            )
            s.flush()

    def _block_found(self, it: PendingSubmit, header: bytes, pow_hash: bytes, difficulty: float) -> None:
        job = it.job
        t = job.template
        block_hash = cb.sha256d(header)  # the block id is SHA256d of the header for both algorithms
        metrics.BLOCKS.labels(t.algorithm.wire).inc()
        log.info("block candidate %s at height %d by %s", block_hash[::-1].hex(), t.height, it.miner)
        publish_block(
            self.publisher,
            self.topics.blocks,
            Block(
                ts=self.clock.now_ms(), algorithm=t.algorithm.wire, height=t.height, hash=block_hash[::-1].hex(),
                miner=it.miner, worker=it.worker, reward=t.coinbase_value,
                network_difficulty=job.network_difficulty, share_difficulty=difficulty, status="found",
                job_id=job.job_id, header_hex=header.hex(),
            ),
        )
        coinbase = job.coinbase(it.extranonce1, it.extranonce2)
        if t.witness_commitment:
            coinbase = cb.witness_coinbase(coinbase)
        block_hex = cb.serialize_block(header, coinbase, t.tx_data)
        task = asyncio.create_task(self._submit_block(t.algorithm, job, block_hex, block_hash))
        self._tasks.append(task)
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _submit_block(self, algorithm: Algorithm, job: Job, block_hex: str, block_hash: bytes) -> None:
        try:
            ok = await self.job_source.submit_block(job.template, block_hex, block_hash)
        except Exception as exc:  # noqa: BLE001 - the block event is already published; log the node error
            log.error("submitblock %s failed: %s", block_hash[::-1].hex(), exc)
            return
        if not ok:
            log.warning("block %s was not accepted by the job source", block_hash[::-1].hex())
        self.ports[algorithm].wake.set()  # the tip moved: poll now so miners get a clean job at once


def _hex_u32(value: object) -> int:
    if isinstance(value, str) and len(value) == 8:
        with contextlib.suppress(ValueError):
            return int(value, 16)
    return 0


async def serve(
    settings: StratumSettings,
    publisher: Publisher,
    topics: TopicNames,
    clock: Clock,
    job_source: JobSource | None = None,
) -> StratumGateway:
    """Start the gateway on the configured ports (template generator unless `job_source` is given)."""
    gateway = StratumGateway(settings, publisher, topics, clock, job_source or TemplateJobSource(settings, clock))
    try:
        await gateway.start()
    except BaseException:
        await gateway.close()
        raise
    return gateway
