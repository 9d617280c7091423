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

    def __post_init__(self) -> None:
        if not 1 <= self.partitions <= 1024:
            raise SettingsError(f"kafka.partitions must be in 1..1024, got {self.partitions}")
        if not 0 <= self.embedded_port <= 65535:
            raise SettingsError(f"kafka.embedded_port must be in 0..65535, got {self.embedded_port}")

    @property
    def embedded(self) -> bool:
        return not self.bootstrap

    @property
    def client_bootstrap(self) -> str:
        """Where a client command (simulate) finds the broker: the configured one or the embedded one."""
        return self.bootstrap or f"127.0.0.1:{self.embedded_port}"
