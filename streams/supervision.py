"""Supervision of the agents: no exception ends an agent silently.

Every step of a batch (decode, checks, dead letters, write) runs through `supervised`: a failure is logged
with its reason, counted (`poolstream_agent_failures_total{agent}`), marks the agent failing
(`poolstream_agent_up{agent}` 0, health 503 with the reason), and the same step is run again after a
backoff (0.1 s doubling to 10 s) until it succeeds. The batch stays unacknowledged meanwhile: never
skipped, never acked before it is durable. An agent whose task ends anyway is `dead` (see
`streams.runtime`). `AgentStatus` holds these facts for the health probe (`api.health` reads them through
a Protocol); `AgentBoard` lists the statuses of one process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from schemas.config import first_line
from streams import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


class AgentState(StrEnum):
    STARTING = "starting"  # created, not consuming yet
    RUNNING = "running"
    FAILING = "failing"  # a step fails and is being retried
    DEAD = "dead"  # its task ended with an error
    STOPPED = "stopped"  # stopped on request


def describe(exc: BaseException) -> str:
    line = first_line(exc)
    return line if line == type(exc).__name__ else f"{type(exc).__name__}: {line}"


class AgentStatus:
    """The live state of one agent, read by the health probe (any thread; values are replaced, not mutated)."""

    def __init__(self, name: str, topic: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.topic = topic
        self.failures = 0
        self._monotonic = monotonic
        self._failing: dict[str, str] = {}  # step -> reason
        self._dead: str | None = None
        self._started = False
        self._stopped = False
        self._last_progress = monotonic()
        metrics.AGENT_UP.labels(name).set(0)

    @property
    def state(self) -> AgentState:
        if self._dead is not None:
            return AgentState.DEAD
        if self._stopped:
            return AgentState.STOPPED
        if self._failing:
            return AgentState.FAILING
        return AgentState.RUNNING if self._started else AgentState.STARTING

    @property
    def reason(self) -> str | None:
        """Why the agent is dead or failing (None when it is not)."""
        if self._dead is not None:
            return self._dead
        if self._failing:
            return "; ".join(f"{step}: {why}" for step, why in self._failing.items())
        return None

    @property
    def seconds_since_progress(self) -> float:
        """Seconds since the agent last completed a batch (or started consuming)."""
        return max(0.0, self._monotonic() - self._last_progress)

    def started(self) -> None:
        self._started, self._stopped = True, False
        self._last_progress = self._monotonic()
        self._set_up()

    def progressed(self) -> None:
        self._last_progress = self._monotonic()

    def failed(self, step: str, exc: BaseException, retry_in_s: float) -> None:
        self.failures += 1
        self._failing = {**self._failing, step: describe(exc)}
        metrics.AGENT_FAILURES.labels(self.name).inc()
        self._set_up()
        log.error("agent %s: %s failed (%s); batch kept unacknowledged, retrying in %.1fs",
                  self.name, step, describe(exc), retry_in_s, exc_info=exc)

    def recovered(self, step: str) -> None:
        if step in self._failing:
            self._failing = {s: why for s, why in self._failing.items() if s != step}
            log.warning("agent %s: %s succeeded again", self.name, step)
            self._set_up()

    def died(self, exc: BaseException) -> None:
        self.failures += 1
        self._dead = describe(exc)
        metrics.AGENT_FAILURES.labels(self.name).inc()
        self._set_up()
        log.error("agent %s died (%s); its unacknowledged messages are replayed when the process restarts",
                  self.name, self._dead, exc_info=exc)

    def stopped(self) -> None:
        self._stopped = True
        self._set_up()

    def _set_up(self) -> None:
        metrics.AGENT_UP.labels(self.name).set(1 if self.state is AgentState.RUNNING else 0)


class AgentBoard:
    """The agents of one process, for the health probe (`api.health.AgentsView`)."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._agents: dict[str, AgentStatus] = {}
        self._monotonic = monotonic

    def add(self, name: str, topic: str) -> AgentStatus:
        status = AgentStatus(name, topic, monotonic=self._monotonic)
        self._agents[name] = status
        return status

    def agents(self) -> list[AgentStatus]:
        return list(self._agents.values())


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.1
    max_s: float = 10.0

    def delays(self) -> Callable[[], float]:
        """A fresh sequence of delays: first_s, doubling, capped at max_s."""
        current = [self.first_s]

        def next_delay() -> float:
            delay = current[0]
            current[0] = min(delay * 2, self.max_s)
            return delay

        return next_delay


DEFAULT_BACKOFF = Backoff()


async def supervised(status: AgentStatus, step: str, attempt: Callable[[], Awaitable[T]],
                     sleep: Callable[[float], Awaitable[None]], backoff: Backoff) -> T:
    """`await attempt()` until it succeeds, reporting each failure on `status` and backing off.
    Cancellation (a stop) is not a failure: it propagates at once."""
    delay = backoff.delays()
    while True:
        try:
            result = await attempt()
        except Exception as exc:  # any failure of the step: reported, then the step is run again
            wait = delay()
            status.failed(step, exc, wait)
            await sleep(wait)
            continue
        status.recovered(step)
        return result
