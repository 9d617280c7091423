"""The cgminer-API poller job: every CGMINER_INTERVAL_S, all rigs polled concurrently (summary, devs, stats,
pools; CGMINER_TIMEOUT_S per command), each rig's readings published to `telemetry` as one Arrow message
keyed by its miner, then flushed (delivered) before the run ends.

A rig that cannot be reached or answers nothing usable is counted (`poolstream_cgminer_poll_errors_total
{host}`), logged when it starts failing and when it recovers, and polled again next interval; it never ends
the run or the job. A command a rig does not support is skipped. The readings are checked by the telemetry
agent like any other (invalid ones go to `telemetry.rejected`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Counter

from schemas.clock import Clock
from schemas.telemetry import DecodeError, TelemetryReading, encode_arrow, readings_to_batch
from sources.cgminer.hosts import Rig
from sources.cgminer.protocol import COMMANDS, MAX_ANSWER_BYTES, Answer, AnswerError, parse_answer, request
from sources.cgminer.readings import to_readings

log = logging.getLogger(__name__)

POLL_ERRORS = Counter("poolstream_cgminer_poll_errors", "cgminer-API polls that failed, per rig", ["host"])
READINGS = Counter("poolstream_cgminer_readings", "Device readings read from cgminer-API rigs")


class PollError(RuntimeError):
    """A rig that could not be polled (unreachable, timed out, or no command answered usably)."""


class TelemetryPublisher(Protocol):
    """What the job needs of `bus.publisher.Publisher` (which satisfies it)."""

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    def flush(self, timeout: float = 30.0) -> None: ...


async def query(rig: Rig, command: str, timeout_s: float) -> Answer:
    """One command on its own connection; the rig closes it after answering (or ends with a NUL)."""
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(rig.host, rig.port)
        try:
            writer.write(request(command))
            await writer.drain()
            chunks: list[bytes] = []
            size = 0
            while size < MAX_ANSWER_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if chunk.endswith(b"\x00"):
                    break
            return b"".join(chunks)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # the rig already reset the connection: it is closed either way

    return parse_answer(await asyncio.wait_for(exchange(), timeout_s), command)


async def poll_rig(rig: Rig, timeout_s: float, ts_ms: int) -> list[TelemetryReading]:
    """The rig's readings. Raises `PollError` when it is unreachable or no command answered usably."""
    answers: dict[str, Answer] = {}
    problems: list[str] = []
    for command in COMMANDS:
        try:
            answers[command] = await query(rig, command, timeout_s)
        except (TimeoutError, OSError) as exc:  # unreachable: the other commands would wait just as long
            raise PollError(f"{command}: {type(exc).__name__}: {exc}") from None
        except AnswerError as exc:
            problems.append(f"{command}: {exc}")
    readings = to_readings(answers, rig.miner, rig.worker, ts_ms)
    if not readings:
        raise PollError("; ".join(problems) or "no device figures in the answers")
    return readings


@dataclass
class PollRun:
    """What one run did."""

    polled: int = 0
    failed: list[str] = field(default_factory=list)  # host:port of the rigs that failed
    readings: int = 0


class CgminerPollJob:
    """The scheduled poll (`jobs.scheduler.IntervalJob`). `registered` lists the registered ASIC workers with a
    host (read each run; a failure to read them is logged and the configured rigs are still polled)."""

    id = "cgminer_poll"

    def __init__(self, rigs: Sequence[Rig], publisher: TelemetryPublisher, topic: str, clock: Clock, *,
                 interval_s: float, timeout_s: float,
                 registered: Callable[[], Awaitable[list[Rig]]] | None = None) -> None:
        self.rigs = list(rigs)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._publisher = publisher
        self._topic = topic
        self._clock = clock
        self._registered = registered
        self._failing: set[str] = set()

    async def targets(self) -> list[Rig]:
        """Configured rigs, then registered ones not already configured (same host:port)."""
        found = list(self.rigs)
        if self._registered is not None:
            try:
                found += await self._registered()
            except Exception as exc:  # the registry unreadable for a run: poll what is configured
                log.warning("cgminer poll: registered workers not read (%s); polling CGMINER_HOSTS only", exc)
        unique: dict[str, Rig] = {}
        for rig in found:
            unique.setdefault(rig.where, rig)
        return list(unique.values())

    async def _poll(self, rig: Rig, ts_ms: int) -> tuple[int, bytes] | None:
        """(readings, their Arrow message), or None when the rig failed (counted and logged)."""
        try:
            readings = await poll_rig(rig, self.timeout_s, ts_ms)
            message = encode_arrow(readings_to_batch(readings))
        except (PollError, DecodeError) as exc:
            POLL_ERRORS.labels(rig.where).inc()
            if rig.where not in self._failing:
                log.warning("cgminer poll of %s (%s.%s) failed: %s; retried every %gs", rig.where, rig.miner,
                            rig.worker, exc, self.interval_s)
            self._failing.add(rig.where)
            return None
        if rig.where in self._failing:
            log.info("cgminer poll of %s answers again", rig.where)
            self._failing.discard(rig.where)
        return len(readings), message

    async def run(self) -> PollRun:
        rigs = await self.targets()
        ts_ms = self._clock.now_ms()
        results = await asyncio.gather(*(self._poll(rig, ts_ms) for rig in rigs))
        report = PollRun(polled=len(rigs))
        messages: list[tuple[bytes, bytes]] = []
        for rig, result in zip(rigs, results, strict=True):
            if result is None:
                report.failed.append(rig.where)
                continue
            messages.append((rig.miner.encode(), result[1]))
            report.readings += result[0]
        if messages:
            await asyncio.to_thread(self._send, messages)
            READINGS.inc(report.readings)
        return report

    def _send(self, messages: list[tuple[bytes, bytes]]) -> None:
        for key, value in messages:
            self._publisher.publish(self._topic, value, key=key)
        self._publisher.flush()
