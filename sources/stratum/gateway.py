"""The Stratum V1 gateway: one listener per algorithm, wired from its parts, started and stopped cleanly.

A `PortRuntime` per port holds that port's sessions, job book, job loop, batch verifier, verdicts and block
submitter, and is the `contracts.Port` its sessions talk to; the gateway holds what the ports share
(admission and bans, the share recorder, the verify threads, the job source) and the periodic loops
(share flush, sweep of idle/slow connections). Every submit becomes a share event on `shares`, accepted or
with its rejection reason; a share meeting the network target also goes to `blocks` and to the job source.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import functools
import gc
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bus.publisher import Publisher
from schemas.algorithms import Algorithm
from schemas.clock import Clock
from schemas.config import SettingsError
from schemas.topics import TopicNames
from sources.stratum import metrics
from sources.stratum.admission import Admission
from sources.stratum.blocks import BlockSubmitter
from sources.stratum.contracts import Connection
from sources.stratum.door_link import DoorLink
from sources.stratum.events import ShareRecorder
from sources.stratum.identity import Worker
from sources.stratum.job_loop import JobLoop
from sources.stratum.job_sources import job_source_for
from sources.stratum.jobs import CoinbasePolicy, Job, JobSource
from sources.stratum.listener import Listener
from sources.stratum.port_base import PortBase, sweep
from sources.stratum.session import Session
from sources.stratum.settings import PortSettings, StratumSettings
from sources.stratum.verdicts import Verdicts
from sources.stratum.verifier import BatchVerifier, PendingSubmit, warm_up

log = logging.getLogger(__name__)

EXTRANONCE1_SIZE = 4
GC_FULL_AFTER = 100  # young-generation collections between full ones (CPython's default: 10)


class PortRuntime(PortBase):
    """Everything one listening port owns; implements `contracts.Port` for its sessions."""

    def __init__(self, gateway: StratumGateway, settings: PortSettings) -> None:
        s = gateway.settings
        super().__init__(s, settings, gateway.loop.time, gateway.admission, gateway.policy)
        self.next_extranonce1 = gateway.next_extranonce1
        self.bucket_of = gateway.recorder.bucket_of
        self._door = gateway.door
        self.connections = metrics.CONNECTIONS.labels(self.algorithm.wire)
        self.jobs = JobLoop(
            self.algorithm, gateway.job_source, self.book, self.sessions, gateway.publisher,
            gateway.topics.jobs, gateway.clock, gateway.policy, s.template_poll_s, self.time,
        )  # fmt: skip
        self.blocks = BlockSubmitter(
            gateway.job_source, gateway.publisher, gateway.topics.blocks, gateway.clock, self.jobs.wake
        )
        self.verdicts = Verdicts(
            self.algorithm.wire, gateway.recorder, gateway.admission, self.blocks, gateway.clock, self.time,
            self.bucket_of,
        )  # fmt: skip
        self.rejected: Callable[[Connection, Worker | None, list[Any], str, Job | None], None] = (
            self.verdicts.rejected
        )
        self.verifier = BatchVerifier(
            self.algorithm.wire, gateway.executor, self.verdicts.on_verified, self.verdicts.on_verify_failed,
            s.verify_batch_max, s.verify_batch_wait_ms / 1000, s.verify_threads,
        )  # fmt: skip
        self.verify: Callable[[PendingSubmit], None] = self.verifier.add
        self.listener = Listener(functools.partial(Session, self), gateway.admission.precheck,
                                 gateway.admission.strike)

    def admit(self, conn: Connection) -> bool:
        if not self._admission.admit(conn):
            return False
        self.sessions.add(conn)
        self.connections.inc()
        return True

    def adopt(self, conn: Connection) -> bool:
        if self._admission.closing:
            return False
        self._admission.adopt(conn)
        self.sessions.add(conn)
        self.connections.inc()
        return True

    def release(self, conn: Connection) -> None:
        if conn not in self.sessions:
            return
        self.sessions.discard(conn)
        self.connections.dec()
        self._admission.release(conn)
        if self._door is not None:
            self._door.gone(conn.ip)

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        return self.listener.port


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
        self.recorder = ShareRecorder(publisher, topics.shares, settings.share_partitions, settings.share_flush_max,
                                      gateway=settings.gateway_id, region=settings.region)
        self.admission = Admission(settings, self.loop.time, self.loop.call_soon)
        self.policy = CoinbasePolicy(
            EXTRANONCE1_SIZE, settings.extranonce2_size, settings.coinbase_tag.encode(),
            bytes.fromhex(settings.coinbase_script_hex),
        )  # fmt: skip
        self._en1 = int.from_bytes(os.urandom(4), "little")
        self.door = DoorLink(self) if settings.door else None
        if self.door is not None:
            self.admission.on_ban = self.door.ban
        self.ports: dict[Algorithm, PortRuntime] = {ps.algorithm: PortRuntime(self, ps) for ps in settings.ports}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Warm the kernels up, get a first job per port, listen; raises `SettingsError` if a port is taken."""
        for rt in self.ports.values():
            seconds = await asyncio.to_thread(warm_up, rt.algorithm.wire)
            log.debug("stratum %s kernels ready in %.1fs", rt.algorithm.wire, seconds)
            await rt.jobs.poll()  # a job exists before the first miner connects
        # The cyclic garbage collector (process-wide, docs/architecture.md "Limits and defences"): what is
        # alive now (libraries, compiled kernels, first jobs) stays alive, so take it out of the collector's
        # reach and full passes walk only what came later; and make full passes 10x rarer. Connections
        # leave no cyclic garbage (see connection.py), so a full pass walks live objects (~0.7 us each on
        # the development machine, ~18 per connection) and frees next to nothing. Under a connection flood
        # the default thresholds ran one every second or two, each stalling the event loop for 25-300 ms.
        gc.collect()
        gc.freeze()
        gen0, gen1, _ = gc.get_threshold()
        gc.set_threshold(gen0, gen1, GC_FULL_AFTER)
        for rt in self.ports.values():
            try:
                await rt.listener.bind(self.settings.host, rt.settings.port)
            except OSError as exc:
                raise SettingsError(_listen_error(self.settings.host, rt.settings, exc)) from exc
            if self.door is None:
                rt.listener.start()
        if self.door is not None:
            await self.door.start({rt.algorithm.wire: rt.listener.sockets for rt in self.ports.values()})
        for rt in self.ports.values():
            self._tasks.append(asyncio.create_task(rt.jobs.run(), name=f"stratum-jobs-{rt.algorithm.wire}"))
            log.info("stratum %s listening on %s:%d", rt.algorithm.wire, self.settings.host, rt.port)
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="stratum-share-flush"))
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name="stratum-sweep"))

    def port(self, algorithm: Algorithm) -> int:
        return self.ports[algorithm].port

    def port_by_wire(self, wire: str) -> PortRuntime | None:
        return next((rt for rt in self.ports.values() if rt.algorithm.wire == wire), None)

    @property
    def connection_count(self) -> int:
        """Open connections: mining ones, and those waiting at the door to log in."""
        return self.admission.count + (self.door.waiting if self.door is not None else 0)

    def set_vardiff_target(self, target_s: float) -> None:
        """Live: new connections and every mining one aim at `target_s` between shares from now on."""
        for rt in self.ports.values():
            rt.vardiff_policy = dataclasses.replace(rt.vardiff_policy, target_s=target_s)
            for conn in rt.sessions:
                if conn.vardiff is not None:
                    conn.vardiff.retune(rt.vardiff_policy)

    def next_extranonce1(self) -> bytes:
        self._en1 = (self._en1 + 1) & 0xFFFFFFFF
        return self._en1.to_bytes(EXTRANONCE1_SIZE, "big")

    async def close(self) -> None:
        """Stop accepting, close connections, verify what is queued, publish every share, flush."""
        if self._closing:
            return
        self._closing = True
        self.admission.closing = True
        if self.door is not None:
            await self.door.close()
        for rt in self.ports.values():
            rt.listener.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for rt in self.ports.values():
            for s in rt.sessions:
                s.closing = True  # no new request, and no resumed reading when verdicts come back
                s.stop_reading()
        for rt in self.ports.values():
            await rt.verifier.drain()  # queued submits still get their verdict and their share event
            for s in list(rt.sessions):
                s.close()
        for rt in self.ports.values():
            await rt.blocks.close()  # blocks found while draining still reach the job source
        self.recorder.flush()
        await self.job_source.close()
        await asyncio.to_thread(self.publisher.flush, 30.0)
        self.executor.shutdown(wait=True)

    # -- periodic --------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.share_flush_ms / 1000)
            self.recorder.flush()

    async def _sweep_loop(self) -> None:
        s = self.settings
        interval = min(1.0, s.idle_timeout_s / 4, s.drain_timeout_s / 4, s.login_timeout_s / 4, s.line_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def sweep(self) -> None:
        """Close connections past their login timeout, idle, stuck-slow or dripping a line; let vardiff lower
        the difficulty of silent miners."""
        metrics.flush_log()
        sweep(self.admission, self.settings, self.loop.time(), [rt.sessions for rt in self.ports.values()])


def _listen_error(host: str, port: PortSettings, exc: OSError) -> str:
    """One line for a port that cannot be bound, naming the variable that moves it."""
    alg = port.algorithm.wire
    variable = f"STRATUM_{alg.upper()}_PORT"
    if exc.errno == errno.EADDRINUSE:
        return f"stratum {alg} port {port.port} on {host} is already in use: choose another with {variable}"
    reason = exc.strerror or str(exc)
    return f"stratum {alg} cannot listen on {host}:{port.port} ({reason}): check STRATUM_HOST and {variable}"


async def serve(
    settings: StratumSettings,
    publisher: Publisher,
    topics: TopicNames,
    clock: Clock,
    job_source: JobSource | None = None,
) -> StratumGateway:
    """Start the gateway on the configured ports. Jobs come from `job_source` if given, else from the node
    of `settings.node_url` if set, else from the template generator (`job_sources.job_source_for`)."""
    gateway = StratumGateway(settings, publisher, topics, clock, job_source or job_source_for(settings, clock))
    try:
        await gateway.start()
    except BaseException:
        await gateway.close()
        raise
    return gateway
