"""`poolstream broker`: Tansu behind the produce-gate relay, recycled when its memory passes the limit.

One process: the relay listens on the public port (`poolstream.broker_gate`), Tansu on an internal port
advertising the public one; every `check_s` the service reads Tansu's resident memory, writes the stats file
(`bus.broker_stats`, read by the app's health and /metrics) and, above `recycle_bytes`, recycles the broker
(`poolstream.broker_recycle`). An epoch is one Tansu process; the stats say which epoch runs and what each
recycle did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException

from bus import broker_stats
from bus.admin import create_topics
from bus.broker_stats import BrokerStats
from poolstream.broker import BrokerError, BrokerSettings, EmbeddedBroker, free_port
from poolstream.broker_gate import KafkaRelay, ProduceGate
from poolstream.broker_recycle import Snapshot, rss_bytes, snapshot

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class RecyclePolicy:
    recycle_bytes: int = 512 * 1024 * 1024  # recycle above this resident memory
    limit_bytes: int = 4096 * 1024 * 1024  # health warns above 80% of it
    check_s: float = 2.0
    max_lag: int = 100  # messages a group may be behind for the gate to close (it must catch up while held),
    catch_up_s: float = 2.0  # ... plus what it consumes in this long at its recent rate
    drain_timeout_s: float = 5.0  # longest producers are held
    disposable: frozenset[str] = frozenset()  # topics dropped at a recycle when no group reads them


class BrokerService:
    def __init__(self, directory: Path, port: int, policy: RecyclePolicy) -> None:
        self.directory, self.port, self.policy = directory, port, policy
        self.gate = ProduceGate()
        self.relay = KafkaRelay(HOST, port, self._upstream, self.gate)
        self.broker: EmbeddedBroker | None = None
        self.stats = BrokerStats(os.getpid(), port, recycle_bytes=policy.recycle_bytes, limit_bytes=policy.limit_bytes)
        self._stop = asyncio.Event()
        self._next_try = 0.0
        self._consumed: dict[str, tuple[float, int]] = {}  # group -> (when, committed total) at the last sample
        self._rates: dict[str, float] = {}  # group -> messages/s it committed recently

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def _upstream(self) -> tuple[str, int]:
        if self.broker is None:
            raise OSError("no broker")
        return HOST, self.broker.port

    def _new_broker(self) -> EmbeddedBroker:
        return EmbeddedBroker(BrokerSettings(host=HOST, port=free_port(HOST), advertised_port=self.port)).start()

    def _carry_loss(self) -> None:
        """Report what the broker before this one held unconsumed when it ended (a crash, a kill -9, or a
        stop with messages queued): memory only, those messages are gone. Counted, said, and kept in the
        stats (health and /metrics show them)."""
        previous = broker_stats.read(self.directory)
        if previous is None:
            return
        lost = broker_stats.ended_holding(previous, self.policy.disposable)
        self.stats.lost_messages = previous.lost_messages + sum(lost.values())
        self.stats.last_loss, self.stats.last_loss_at = previous.last_loss, previous.last_loss_at
        if lost:
            at = previous.sampled or previous.updated
            self.stats.last_loss, self.stats.last_loss_at = lost, at
            how = "stopped" if previous.stopped else "died (crash or kill)"
            counts = ", ".join(f"{topic} {count:,}" for topic, count in sorted(lost.items()))
            print(f"poolstream broker: LOSS: the previous embedded broker (pid {previous.pid}) {how} holding "
                  f"{sum(lost.values()):,} unconsumed messages at its last sample, now lost ({counts}; sampled "
                  f"{time.strftime('%H:%M:%S', time.gmtime(at))} UTC)", file=sys.stderr, flush=True)

    async def _sample(self) -> None:
        """What a crash now would lose: the unconsumed messages per topic (written with the stats)."""
        try:
            snap = await self.snapshot(2.0)
        except KafkaException as exc:
            log.warning("could not sample the broker: %s", exc)
            return
        now = time.monotonic()
        self.stats.unconsumed, self.stats.sampled = snap.unconsumed_by_topic(), time.time()
        for group in snap.committed:
            total = snap.committed_total(group)
            when, before = self._consumed.get(group, (now, total))
            if now > when and total >= before:  # (a new broker epoch starts the totals again)
                self._rates[group] = (total - before) / (now - when)
            self._consumed[group] = (now, total)

    async def run(self, on_listening: object = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        self._carry_loss()
        self.broker = await asyncio.to_thread(self._new_broker)
        broker_stats.write(self.directory, self.stats)
        try:
            await self.relay.start()
            if callable(on_listening):
                on_listening()
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.policy.check_s)
                if self._stop.is_set():
                    break
                if self.broker is None or not self.broker.running:
                    raise BrokerError("the embedded broker (Tansu) exited on its own")
                self.stats.rss_bytes = rss_bytes(self.broker.pid)
                if self.stats.rss_bytes >= self.policy.recycle_bytes and time.monotonic() >= self._next_try:
                    await self.recycle()
                await self._sample()
                broker_stats.write(self.directory, self.stats)
        finally:
            self.gate.open()
            await self._sample()  # the last word: what this stop leaves unconsumed (the next start reports it)
            self.stats.stopped = True
            broker_stats.write(self.directory, self.stats)
            await self.relay.stop()
            if self.broker is not None:
                self.broker.stop()

    async def recycle(self) -> bool:
        """One recycle attempt (see `poolstream.broker_recycle`); False, with `stats.blocked` saying why, when
        a consumer group is behind."""
        self._next_try = time.monotonic() + max(self.policy.check_s, 5.0)
        try:
            snap = await self.snapshot()
            allowance = {g: rate * self.policy.catch_up_s for g, rate in self._rates.items()}
            if why := snap.blocker(self.policy.max_lag, self.policy.disposable, allowance):
                self.stats.blocked = why
                return False
            started = time.monotonic()
            if not await self.gate.close(self.policy.drain_timeout_s):
                self.stats.blocked = "produce requests were not answered in time"
                return False
            try:
                snap = await self._drained(started + self.policy.drain_timeout_s)
                if why := snap.blocker(0, self.policy.disposable):
                    self.stats.blocked = why
                    return False
                await self._switch(snap)
            finally:
                self.gate.open()
        except KafkaException as exc:
            self.stats.blocked = f"broker not answering: {exc}"
            return False
        pause = time.monotonic() - started
        dropped = snap.unconsumed()
        self.stats.epoch += 1
        self.stats.epoch_started = time.time()
        self.stats.recycles += 1
        self.stats.last_recycle_at, self.stats.last_pause_s, self.stats.blocked = time.time(), pause, ""
        self.stats.dropped_unconsumed += sum(dropped.values())
        print(f"poolstream broker: recycled (epoch {self.stats.epoch}; producers held {pause:.2f}s"
              + (f"; dropped unconsumed {dropped}" if dropped else "") + ")", file=sys.stderr, flush=True)
        return True

    async def snapshot(self, timeout_s: float = 5.0) -> Snapshot:
        """The broker's topics and groups, with exact end offsets: the records the relay saw acknowledged
        (Tansu's own end offset counts only a batch's first record)."""
        snap = await asyncio.to_thread(snapshot, self.bootstrap, timeout_s)
        for tp, acked in self.relay.acknowledged.items():
            snap.ends[tp] = max(snap.ends.get(tp, 0), acked)
        return snap

    async def _drained(self, deadline: float) -> Snapshot:
        while True:
            snap = await self.snapshot()
            if not snap.blocker(0, self.policy.disposable) or time.monotonic() >= deadline:
                return snap
            await asyncio.sleep(0.1)

    async def _switch(self, snap: Snapshot) -> None:
        old = self.broker
        self.broker = await asyncio.to_thread(self._new_broker)  # new relay connections reach it from now on
        self.relay.reset_counts()
        self._consumed.clear()
        await asyncio.to_thread(create_topics, self.bootstrap, snap.partitions)
        await self.relay.disconnect_all()  # clients reconnect to the new broker and resend what the gate held
        if old is not None:
            await asyncio.to_thread(old.stop)
