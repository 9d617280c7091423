"""Health of the API's dependencies: the `HealthProbe` contract and the real probe (Kafka + ClickHouse).

`KafkaClickHouseProbe.check()` reports broker reachability (AdminClient.list_topics), ClickHouse
(`SELECT 1`) and the consumer lag of `group_id` per topic (`bus.lag`). Every blocking call runs in a worker
thread. The lag is also exported as the gauge `poolstream_consumer_lag{topic}`.
With the embedded broker, `broker` shows its memory and recycling and `warnings` says when it nears its
limit (a warning, not a 503). `ok` is broker and ClickHouse reachable and every agent well. An agent (read through `AgentsView`, which
the composition root fills with the stream agents' statuses; api does not import streams) is unwell when it
is dead, failing (a step is being retried) or stopped, or stalled: it has completed no batch for
`stall_after_s` while its topic has consumer lag. Lag alone is information, not a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import msgspec
from clickhouse_connect.driver.client import Client
from confluent_kafka.admin import AdminClient

from bus import lag as lag_metrics
from bus.broker_stats import BrokerStats
from bus.config import client_config
from bus.lag import Lag, consumer_lags
from sinks.client import first_line


class ComponentHealth(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    latency_ms: float
    error: str | None = None


class TopicLag(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    lag: int | None  # null when it could not be read; `error` says why
    error: str | None = None


class AgentHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    ok: bool
    state: str  # starting, running, failing, dead, stopped
    seconds_since_progress: float  # since the agent last completed a batch (or started)
    error: str | None = None


class BrokerHealth(msgspec.Struct, frozen=True, kw_only=True):
    """The embedded broker's memory and recycling (`bus.broker_stats`); absent with an external Kafka."""

    memory_bytes: int
    memory_limit_bytes: int
    recycle_at_bytes: int
    epoch: int
    recycles: int
    last_recycle_pause_s: float
    dropped_unconsumed: int
    lost_messages: int = 0  # earlier embedded brokers ended holding these unconsumed (crash, kill -9)
    last_loss: dict[str, int] = msgspec.field(default_factory=dict)  # per topic, at the last such end
    unconsumed: dict[str, int] = msgspec.field(default_factory=dict)  # what a crash now would lose
    recycle_blocked: str | None = None
    warning: str | None = None

    @classmethod
    def of(cls, stats: BrokerStats) -> BrokerHealth:
        return cls(memory_bytes=stats.rss_bytes, memory_limit_bytes=stats.limit_bytes,
                   recycle_at_bytes=stats.recycle_bytes, epoch=stats.epoch, recycles=stats.recycles,
                   last_recycle_pause_s=round(stats.last_pause_s, 3), dropped_unconsumed=stats.dropped_unconsumed,
                   lost_messages=stats.lost_messages, last_loss=stats.last_loss, unconsumed=stats.unconsumed,
                   recycle_blocked=stats.blocked or None, warning=stats.warning())


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    kafka: ComponentHealth
    clickhouse: ComponentHealth
    consumer_lag: list[TopicLag]
    agents: list[AgentHealth] = msgspec.field(default_factory=list)
    broker: BrokerHealth | None = None
    warnings: list[str] = msgspec.field(default_factory=list)  # what needs attention before it fails

    def problems(self) -> list[str]:
        """One phrase per failing part, for the 503 message."""
        down = [name for name, part in (("kafka", self.kafka), ("clickhouse", self.clickhouse)) if not part.ok]
        out = [f"{', '.join(down)} down"] if down else []
        return out + [f"agent {a.name} {a.error}" for a in self.agents if not a.ok]


class AgentView(Protocol):
    """What the probe reads of one agent (`streams.supervision.AgentStatus` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def seconds_since_progress(self) -> float: ...


class AgentsView(Protocol):
    def agents(self) -> Sequence[AgentView]: ...


_UNWELL_STATES = ("failing", "dead", "stopped")


def agent_health(agent: AgentView, lag: int | None, stall_after_s: float) -> AgentHealth:
    """An agent's health: its own state, or stalled (no batch for `stall_after_s` while `lag` > 0)."""
    state, idle = str(agent.state), round(agent.seconds_since_progress, 3)
    error: str | None = None
    if state in _UNWELL_STATES:
        error = f"{state}: {agent.reason}" if agent.reason else state
    elif lag and idle > stall_after_s:
        error = f"stalled: no batch completed for {idle:.0f}s while {lag} message(s) wait on {agent.topic}"
    return AgentHealth(name=agent.name, ok=error is None, state=state, seconds_since_progress=idle, error=error)


@runtime_checkable
class HealthProbe(Protocol):
    async def check(self) -> HealthReport: ...


class KafkaClickHouseProbe:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        clickhouse: Client,
        timeout: float = 2.0,
        agents: AgentsView | None = None,
        stall_after_s: float = 30.0,
        broker_stats: Callable[[], BrokerStats | None] | None = None,
    ) -> None:
        self._broker_stats = broker_stats
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = tuple(topics)
        self._clickhouse = clickhouse
        self._timeout = timeout
        self._agents = agents
        self._stall_after_s = stall_after_s

    async def check(self) -> HealthReport:
        kafka, clickhouse = await asyncio.gather(
            asyncio.to_thread(_timed, self._list_topics), asyncio.to_thread(_timed, self._select_one)
        )
        if kafka.ok:
            lags = await asyncio.to_thread(self.lags)
        else:
            lags = [TopicLag(topic=t, lag=None, error="broker unreachable") for t in self._topics]
        lag_metrics.record([Lag(lag.topic, lag.lag, lag.error) for lag in lags])
        by_topic = {lag.topic: lag.lag for lag in lags}
        agents = [agent_health(a, by_topic.get(a.topic), self._stall_after_s)
                  for a in (self._agents.agents() if self._agents is not None else ())]
        stats = self._broker_stats() if self._broker_stats is not None else None
        broker = BrokerHealth.of(stats) if stats is not None else None
        return HealthReport(
            ok=kafka.ok and clickhouse.ok and all(a.ok for a in agents), kafka=kafka, clickhouse=clickhouse,
            consumer_lag=lags, agents=agents, broker=broker,
            warnings=[broker.warning] if broker is not None and broker.warning else [],
        )

    def _list_topics(self) -> None:
        AdminClient(client_config(self._bootstrap)).list_topics(timeout=self._timeout)

    def _select_one(self) -> None:
        self._clickhouse.command("SELECT 1")

    def lags(self) -> list[TopicLag]:
        """Blocking: the group's lag per topic (call from a thread)."""
        return [TopicLag(topic=lag.topic, lag=lag.lag, error=lag.error)
                for lag in consumer_lags(self._bootstrap, self._group_id, self._topics, self._timeout)]


def _timed(call: Callable[[], None]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        call()
    except Exception as exc:  # any failure of the dependency is the answer, reported in the health report
        return ComponentHealth(ok=False, latency_ms=_ms_since(started), error=first_line(exc))
    return ComponentHealth(ok=True, latency_ms=_ms_since(started))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


# -- the seed 001 shape of GET /admin/health (status, components, metrics), built around the report above ---

HEALTHY, DEGRADED, UNHEALTHY, NOT_CONFIGURED = "healthy", "degraded", "unhealthy", "not_configured"


class HostMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `metrics`: % of all cores, % of RAM, % of ClickHouse's disk; kB/s (1000 bytes) since the last read."""

    cpu_usage: float
    memory_usage: float
    disk_usage: float
    network_in: float
    network_out: float


class AdminHealth(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /admin/health
    status: str  # healthy | degraded (works, something needs attention) | unhealthy (answered with 503)
    components: dict[str, str]  # name -> healthy | degraded | unhealthy | stopped | external | not_configured
    metrics: HostMetrics
    # -- poolstream extras: the probe's detailed report (what it has always answered) and the 503's reasons
    ok: bool
    kafka: ComponentHealth
    clickhouse: ComponentHealth
    consumer_lag: list[TopicLag]
    agents: list[AgentHealth]
    broker: BrokerHealth | None
    warnings: list[str]
    problems: list[str]


def seed_health(report: HealthReport, metrics: HostMetrics, *, stratum: str = NOT_CONFIGURED,
                federation: str = NOT_CONFIGURED) -> AdminHealth:
    """The report in the seed's shape. `stratum`/`federation` are those components' states as the caller
    knows them; `payment_processor` is `not_configured` until payouts exist (issue 9)."""
    broker = report.broker
    components = {
        "database": HEALTHY if report.clickhouse.ok else UNHEALTHY,
        "stratum": stratum,
        "payment_processor": NOT_CONFIGURED,
        "federation": federation,
        "kafka": HEALTHY if report.kafka.ok else UNHEALTHY,
        "broker": "external" if broker is None else DEGRADED if broker.warning else HEALTHY,
        "agents": NOT_CONFIGURED if not report.agents else HEALTHY if all(a.ok for a in report.agents) else UNHEALTHY,
    }
    if not report.ok:
        status = UNHEALTHY
    elif report.warnings or any(state in (DEGRADED, UNHEALTHY, "stopped") for state in components.values()):
        status = DEGRADED
    else:
        status = HEALTHY
    return AdminHealth(status=status, components=components, metrics=metrics, ok=report.ok, kafka=report.kafka,
                       clickhouse=report.clickhouse, consumer_lag=report.consumer_lag, agents=report.agents,
                       broker=broker, warnings=report.warnings, problems=report.problems())


def federation_state(peers: int, reputation: float) -> str:
    """The federation component: `idle` without a peer in 10 min, else by the peers' valid-share ratio."""
    if peers == 0:
        return "idle"
    return HEALTHY if reputation >= 0.9 else DEGRADED if reputation >= 0.5 else UNHEALTHY
