"""Shared fixtures. chDB allows ONE data directory per process, so the whole pytest run shares one chDB path
and every user of it gets a fresh, migrated database with a random name. The embedded broker is started
once per session; every test gets fresh topic names (random prefix) and consumer group ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from bus.admin import ensure_topics
from poolstream.broker import EmbeddedBroker
from schemas.topics import TopicNames
from sinks.client import ClickHouseSettings, connect
from sinks.migrate import migrate


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_factory(chdb_dir: Path) -> Callable[[], tuple[Client, ClickHouseSettings]]:
    """Returns a function making a fresh migrated database on the session's chDB."""

    def make() -> tuple[Client, ClickHouseSettings]:
        settings = ClickHouseSettings(dsn=f"chdb://{chdb_dir}", database=unique("t_"))
        client = connect(settings)
        migrate(client)
        return client, settings

    return make


@pytest.fixture()
def clickhouse(clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]]) -> Client:
    """A fresh, migrated chDB database for one test."""
    client, _ = clickhouse_factory()
    return client


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """The bootstrap address of an embedded broker shared by the session."""
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@pytest.fixture()
def topics(kafka: str) -> TopicNames:
    """Fresh topic names for one test, created on the session broker."""
    names = TopicNames(prefix=unique("t") + ".")
    ensure_topics(kafka, names.all(), partitions=4)
    return names


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process as soon as pytest has reported, with pytest's exit status: chDB's C++ global teardown
    at interpreter exit can print a spurious error after the summary line (chdb-core, "ShutdownTablesThreadPool
    is not initialized"). Everything the tests wrote is already closed; the temp dirs are pytest's to keep."""
    if _exit_status and not hasattr(config, "workerinput"):
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
