"""Settings of the Kafka side shared by every component: where the broker is and how topics are laid out."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.config import SettingsError


@dataclass(frozen=True)
class KafkaSettings:
    """`bootstrap` empty means the embedded single-machine broker on 127.0.0.1:`embedded_port`."""

    bootstrap: str = ""
    topic_prefix: str = ""
    partitions: int = 4
    embedded_port: int = 19092
    embedded_dir: str = "./data/broker"  # pidfile and log of the embedded broker (it outlives `poolstream run`)
    embedded_recycle_mb: int = 512  # the embedded broker is recycled above this memory, once all is consumed
    embedded_memory_limit_mb: int = 4096  # health warns when the embedded broker uses 80% of this

    def __post_init__(self) -> None:
        if not 1 <= self.partitions <= 1024:
            raise SettingsError(f"kafka.partitions must be in 1..1024, got {self.partitions}")
        if not 0 <= self.embedded_port <= 65535:
            raise SettingsError(f"kafka.embedded_port must be in 0..65535, got {self.embedded_port}")
        if not 16 <= self.embedded_recycle_mb <= self.embedded_memory_limit_mb:
            raise SettingsError(
                f"EMBEDDED_BROKER_RECYCLE_MB ({self.embedded_recycle_mb}) must be at least 16 and at most "
                f"EMBEDDED_BROKER_MEMORY_LIMIT_MB ({self.embedded_memory_limit_mb})"
            )

    @property
    def embedded(self) -> bool:
        return not self.bootstrap

    @property
    def client_bootstrap(self) -> str:
        """Where a client command (simulate) finds the broker: the configured one or the embedded one."""
        return self.bootstrap or f"127.0.0.1:{self.embedded_port}"
