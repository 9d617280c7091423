"""Consumer lag of a group: Σ over partitions of the high watermark minus the group's committed offset.

A partition the group never committed counts high - low (everything retained is still to be read). Only
reads offsets: never subscribes, joins the group or commits. Blocking: call it from a thread. The gauge
`poolstream_consumer_lag{topic}` is set by whoever reads it (the lag job, the health probe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import Gauge

from bus.config import client_config
from schemas.config import first_line

CONSUMER_LAG = Gauge("poolstream_consumer_lag", "Messages not yet consumed by the pipeline's group", ["topic"])


@dataclass(frozen=True)
class Lag:
    topic: str
    lag: int | None  # None when it could not be read; `error` says why
    error: str | None = None


def consumer_lags(bootstrap: str, group_id: str, topics: Sequence[str], timeout: float = 2.0) -> list[Lag]:
    consumer = Consumer(client_config(bootstrap, **{"group.id": group_id, "enable.auto.commit": False}))
    try:
        metadata = consumer.list_topics(timeout=timeout)
        lags = []
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                lags.append(Lag(topic, None, "topic not found"))
                continue
            try:
                lags.append(Lag(topic, _topic_lag(consumer, topic, sorted(found.partitions), timeout)))
            except KafkaException as exc:
                lags.append(Lag(topic, None, first_line(exc)))
        return lags
    except KafkaException as exc:
        return [Lag(t, None, first_line(exc)) for t in topics]
    finally:
        consumer.close()


def _topic_lag(consumer: Consumer, topic: str, partitions: list[int], timeout: float) -> int:
    committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=timeout)
    lag = 0
    for tp in committed:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout)
        lag += max(high - tp.offset, 0) if tp.offset >= 0 else max(high - low, 0)
    return lag


def record(lags: Sequence[Lag]) -> None:
    """Export the lags that could be read as `poolstream_consumer_lag{topic}`."""
    for lag in lags:
        if lag.lag is not None:
            CONSUMER_LAG.labels(topic=lag.topic).set(lag.lag)
