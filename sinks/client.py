"""A clickhouse-connect client from a DSN: `chdb://PATH` (embedded chDB) or `http(s)://host:port`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.config import first_line

__all__ = ["ClickHouseSettings", "ClickHouseUnavailable", "connect", "first_line", "redact"]


@dataclass(frozen=True)
class ClickHouseSettings:
    """Where the system of record lives. `dsn` is `chdb://./data/clickhouse` (a directory, relative to the
    working directory), `chdb://memory`, or `http(s)://user:password@host:port`."""

    dsn: str = "chdb://./data/clickhouse"
    database: str = "poolstream"
    shares_ttl_days: int = 30
    backup_dir: str = ""  # BACKUP to File(): "" = `backups` beside the chDB directory (./data/backups)
    backup_s3_url: str = ""  # destination `s3` of POST /api/v1/admin/backup (S3-compatible URL of a folder)
    backup_s3_access_key: str = field(default="", repr=False)  # secrets: no default value, never in a repr
    backup_s3_secret_key: str = field(default="", repr=False)

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb:")

    @property
    def backups_path(self) -> str | None:
        """The absolute directory File() backups go to (chDB: the engine's `backups.allowed_path`); on a
        ClickHouse server the path is the server's and must be its `backups.allowed_path` too."""
        if self.backup_dir:
            return os.path.abspath(self.backup_dir)
        path = _chdb_path(self.dsn) if self.embedded else None
        return os.path.join(os.path.dirname(path), "backups") if path is not None else None


class ClickHouseUnavailable(RuntimeError):
    """ClickHouse could not be reached; the message says which DSN and why."""


def _chdb_path(dsn: str) -> str | None:
    rest = dsn.split("://", 1)[1] if "://" in dsn else dsn.split(":", 1)[1]
    if rest in ("", "memory", ":memory:"):
        return None
    return os.path.abspath(rest)


def connect(settings: ClickHouseSettings, *, database: str | None = None) -> Client:
    """Open a client and make sure the database exists. Raises `ClickHouseUnavailable` with a one-line reason."""
    db = database if database is not None else settings.database
    try:
        if settings.embedded:
            path = _chdb_path(settings.dsn)
            if path is not None:
                os.makedirs(path, exist_ok=True)
            # chDB reads engine options once, when the first client of the process opens the engine
            options = {"backups.allowed_path": settings.backups_path} if settings.backups_path else None
            boot = clickhouse_connect.get_client(interface="chdb", path=path, chdb_options=options)
            boot.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
            return clickhouse_connect.get_client(interface="chdb", path=path, database=db, chdb_options=options)
        boot = clickhouse_connect.get_client(dsn=settings.dsn, database="default")
        boot.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        boot.close()
        return clickhouse_connect.get_client(dsn=settings.dsn, database=db)
    except Exception as exc:  # any driver/network error becomes one line naming the DSN
        raise ClickHouseUnavailable(f"ClickHouse at {redact(settings.dsn)} unavailable: {first_line(exc)}") from exc


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parsed = urlparse(dsn)
    if parsed.password:
        return dsn.replace(f":{parsed.password}@", ":***@")
    return dsn
