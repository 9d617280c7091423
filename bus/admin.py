"""Kafka topic administration: create the deployment's topics (idempotent), read a topic's id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bus.config import client_config


def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = 4, timeout: float = 10.0) -> None:
    """Create the missing topics among `names`. Raises KafkaException if the broker cannot be reached."""
    existing = set(AdminClient(client_config(bootstrap)).list_topics(timeout=timeout).topics)
    create_topics(bootstrap, {n: partitions for n in names if n not in existing}, timeout)


def create_topics(bootstrap: str, partitions: Mapping[str, int], timeout: float = 10.0) -> None:
    """Create the topics of `partitions` (name -> partition count); one that exists already is fine."""
    if not partitions:
        return
    admin = AdminClient(client_config(bootstrap))
    new = [NewTopic(name, num_partitions=count, replication_factor=1) for name, count in partitions.items()]
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise KafkaException(f"cannot create topic {name}: {exc}") from exc


def broker_reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    try:
        AdminClient(client_config(bootstrap)).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def topic_id(bootstrap: str, topic: str, timeout: float = 10.0) -> str:
    """The broker's id of `topic`: it changes when the topic is re-created (or the embedded broker restarts),
    which is how a new offset sequence is told apart from a replay. Empty if the broker has no topic ids."""
    admin = AdminClient(client_config(bootstrap))
    futures = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout)
    description = futures[topic].result()
    return str(description.topic_id or "")
