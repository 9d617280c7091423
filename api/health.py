"""Health of the API's dependencies: the `HealthProbe` contract and the real probe (Kafka + ClickHouse).

`KafkaClickHouseProbe.check()` reports broker reachability (AdminClient.list_topics), ClickHouse
(`SELECT 1`) and the consumer lag of `group_id` per topic: Σ over partitions of high watermark minus the
group's committed offset; a partition the group never committed counts high - low (everything retained is
still to be read). It only reads offsets: it never subscribes, joins the group or commits. Every blocking
call runs in a worker thread. The lag is also exported as the gauge `poolstream_consumer_lag{topic}`.
`ok` is broker and ClickHouse reachable; lag is information, not a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import msgspec
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge

from bus.config import client_config
from sinks.client import first_line

CONSUMER_LAG = Gauge(
    "poolstream_consumer_lag", "Messages not yet consumed by the pipeline's group", ["topic"]
)


class ComponentHealth(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    latency_ms: float
    error: str | None = None


class TopicLag(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    lag: int | None  # null when it could not be read; `error` says why
    error: str | None = None


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    kafka: ComponentHealth
    clickhouse: ComponentHealth
    consumer_lag: list[TopicLag]


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
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = tuple(topics)
        self._clickhouse = clickhouse
        self._timeout = timeout

    async def check(self) -> HealthReport:
        kafka, clickhouse = await asyncio.gather(
            asyncio.to_thread(_timed, self._list_topics), asyncio.to_thread(_timed, self._select_one)
        )
        if kafka.ok:
            lags = await asyncio.to_thread(self.lags)
        else:
            lags = [TopicLag(topic=t, lag=None, error="broker unreachable") for t in self._topics]
        for lag in lags:
            if lag.lag is not None:
                CONSUMER_LAG.labels(topic=lag.topic).set(lag.lag)
        return HealthReport(
            ok=kafka.ok and clickhouse.ok, kafka=kafka, clickhouse=clickhouse, consumer_lag=lags
        )

    def _list_topics(self) -> None:
        AdminClient(client_config(self._bootstrap)).list_topics(timeout=self._timeout)

    def _select_one(self) -> None:
        self._clickhouse.command("SELECT 1")

    def lags(self) -> list[TopicLag]:
        """Blocking: the group's lag per topic (call from a thread)."""
        consumer = Consumer(client_config(self._bootstrap, **{"group.id": self._group_id, "enable.auto.commit": False}))
        try:
            metadata = consumer.list_topics(timeout=self._timeout)
            lags = []
            for topic in self._topics:
                found = metadata.topics.get(topic)
                if found is None or found.error is not None:
                    lags.append(TopicLag(topic=topic, lag=None, error="topic not found"))
                    continue
                try:
                    lags.append(
                        TopicLag(topic=topic, lag=self._topic_lag(consumer, topic, sorted(found.partitions)))
                    )
                except KafkaException as exc:
                    lags.append(TopicLag(topic=topic, lag=None, error=first_line(exc)))
            return lags
        except KafkaException as exc:
            return [TopicLag(topic=t, lag=None, error=first_line(exc)) for t in self._topics]
        finally:
            consumer.close()

    def _topic_lag(self, consumer: Consumer, topic: str, partitions: list[int]) -> int:
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=self._timeout)
        lag = 0
        for tp in committed:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, tp.partition), timeout=self._timeout
            )
            lag += max(high - tp.offset, 0) if tp.offset >= 0 else max(high - low, 0)
        return lag


def _timed(call: Callable[[], None]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        call()
    except Exception as exc:  # any failure of the dependency is the answer, reported in the health report
        return ComponentHealth(ok=False, latency_ms=_ms_since(started), error=first_line(exc))
    return ComponentHealth(ok=True, latency_ms=_ms_since(started))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
