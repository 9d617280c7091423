"""Root settings: the ONLY place poolstream reads the environment. Each component gets its own frozen group.

Every variable is documented in the README. A bad value fails at start with a one-line message naming the
variable (`SettingsError`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import ApiSettings
from bus.publisher import PublisherSettings
from schemas.algorithms import Algorithm
from schemas.topics import TopicNames
from sinks.client import ClickHouseSettings
from sources.stratum.settings import PortSettings, StratumSettings, default_ports
from streams.settings import StreamSettings

VERSION = "0.1.0"


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the environment variable."""


class Env(BaseSettings):
    """Environment variables (case-insensitive) and their defaults: the embedded single-machine setup."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_file=None)

    kafka_bootstrap: str = ""  # empty: start the embedded broker
    kafka_topic_prefix: str = ""
    kafka_partitions: int = Field(4, ge=1, le=1024)
    embedded_broker_port: int = Field(19092, ge=0, le=65535)  # where `poolstream simulate` finds it
    clickhouse_dsn: str = "chdb://./data/clickhouse"
    clickhouse_database: str = Field("poolstream", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    shares_ttl_days: int = Field(30, ge=1)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=0, le=65535)
    stream_app_id: str = "poolstream"
    stream_max_rows: int = Field(200_000, ge=1)
    stream_flush_interval_s: float = Field(0.5, gt=0)
    share_dedup_window_s: int = Field(300, ge=1)
    share_max_past_s: int = Field(3_600, ge=1)
    share_max_future_s: int = Field(300, ge=0)
    stratum_enabled: bool = True
    stratum_host: str = "127.0.0.1"
    stratum_sha256d_port: int = Field(3333, ge=0, le=65535)
    stratum_scrypt_port: int = Field(3337, ge=0, le=65535)
    stratum_sha256d_difficulty: float | None = Field(None, gt=0)
    stratum_sha256d_min_difficulty: float | None = Field(None, gt=0)
    stratum_scrypt_difficulty: float | None = Field(None, gt=0)
    stratum_scrypt_min_difficulty: float | None = Field(None, gt=0)
    stratum_vardiff_target_s: float = Field(10.0, gt=0)
    log_level: str = Field("INFO", pattern=r"^(?i:debug|info|warning|error)$")


@dataclass(frozen=True)
class Settings:
    """The composed settings of one poolstream process."""

    env: Env
    topics: TopicNames
    clickhouse: ClickHouseSettings
    api: ApiSettings

    @property
    def embedded_broker(self) -> bool:
        return not self.env.kafka_bootstrap

    @property
    def client_bootstrap(self) -> str:
        """Where a client command (simulate) finds the broker: KAFKA_BOOTSTRAP or the embedded one."""
        return self.env.kafka_bootstrap or f"127.0.0.1:{self.env.embedded_broker_port}"

    def stream(self, bootstrap: str) -> StreamSettings:
        e = self.env
        return StreamSettings(
            bootstrap=bootstrap, app_id=e.stream_app_id, max_rows=e.stream_max_rows,
            flush_interval_s=e.stream_flush_interval_s, dedup_window_s=e.share_dedup_window_s,
            max_past_s=e.share_max_past_s, max_future_s=e.share_max_future_s, partitions=e.kafka_partitions,
        )

    def publisher(self, bootstrap: str) -> PublisherSettings:
        return PublisherSettings(bootstrap=bootstrap)

    def stratum(self) -> StratumSettings:
        e = self.env
        ports = []
        for port in default_ports():
            if port.algorithm is Algorithm.SHA256D:
                number, start, low = e.stratum_sha256d_port, e.stratum_sha256d_difficulty, e.stratum_sha256d_min_difficulty
            else:
                number, start, low = e.stratum_scrypt_port, e.stratum_scrypt_difficulty, e.stratum_scrypt_min_difficulty
            low = low if low is not None else min(port.min_difficulty, start or port.min_difficulty)
            ports.append(PortSettings(port.algorithm, number, start_difficulty=start or port.start_difficulty,
                                      min_difficulty=low, max_difficulty=port.max_difficulty, nbits=port.nbits))
        return StratumSettings(ports=tuple(ports), host=e.stratum_host, vardiff_target_s=e.stratum_vardiff_target_s,
                               share_partitions=e.kafka_partitions)


def load(**overrides: object) -> Settings:
    """Read the environment (plus `overrides`, e.g. from CLI flags) into `Settings`, or raise SettingsError."""
    try:
        env = Env(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "?"
        raise SettingsError(f"invalid setting {name}: {first['msg']} (got {first.get('input')!r})") from None
    return Settings(
        env=env,
        topics=TopicNames(prefix=env.kafka_topic_prefix),
        clickhouse=ClickHouseSettings(dsn=env.clickhouse_dsn, database=env.clickhouse_database,
                                      shares_ttl_days=env.shares_ttl_days),
        api=ApiSettings(host=env.api_host, port=env.api_port, version=VERSION),
    )
