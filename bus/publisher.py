"""Publishing events to Kafka with confluent-kafka (the fast producer; consumers use Faust/aiokafka)."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from bus.config import client_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublisherSettings:
    bootstrap: str
    linger_ms: int = 5
    compression: str = "lz4"
    queue_max_messages: int = 200_000


class PublishError(RuntimeError):
    """A message could not be delivered to the broker."""


class Publisher:
    """A confluent-kafka producer with delivery tracking: `flush()` raises if any message failed.

    Keyed messages keep one miner's events on one partition, in order.
    """

    def __init__(self, settings: PublisherSettings) -> None:
        self._producer = Producer(
            client_config(
                settings.bootstrap,
                **{
                    "linger.ms": settings.linger_ms,
                    "compression.type": settings.compression,
                    "queue.buffering.max.messages": settings.queue_max_messages,
                    "message.max.bytes": 16 * 1024 * 1024,
                    "enable.idempotence": False,
                },
            )
        )
        self.delivered = 0
        self.failed: list[str] = []

    def _on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed.append(str(err))

    def publish(
        self, topic: str, value: bytes, key: bytes | None = None, headers: dict[str, str | bytes | None] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        """Queue one message (blocks while the local queue is full: backpressure, never a drop)."""
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, timestamp=timestamp_ms,
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:
                # Local queue full: let the broker catch up rather than drop the event.
                self._producer.poll(0.05)
        self._producer.poll(0)

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining:
            raise PublishError(f"{remaining} message(s) not delivered within {timeout}s")
        if self.failed:
            first = self.failed[0]
            count = len(self.failed)
            self.failed.clear()
            raise PublishError(f"{count} message(s) failed delivery: {first}")

    def close(self) -> None:
        try:
            self.flush()
        except KafkaException as exc:
            log.warning("producer close: %s", exc)


def partition_of(key: str, partitions: int) -> int:
    """The partition librdkafka's default partitioner (`consistent_random`: CRC32 of the key) picks for
    `key`: producers that batch several keys into one message group them by it, so each key's messages stay
    on one partition, in order."""
    return zlib.crc32(key.encode()) % partitions
