"""Backups of the ClickHouse database with ClickHouse's own `BACKUP DATABASE ... TO File(...) | S3(...)` and
`RESTORE DATABASE ... AS ...` (POST /api/v1/admin/backup, `poolstream backup|restore`).

Local backups go to `ClickHouseSettings.backups_path` (BACKUP_DIR; default `backups` beside the chDB
directory): chDB only writes backups under `backups.allowed_path`, which `sinks.client.connect` sets when the
engine opens; on a ClickHouse server the directory is the server's and must be its `backups.allowed_path`.
S3-compatible destinations use BACKUP_S3_URL and its keys. A backup is started ASYNC and followed in
`system.backups` (status, size, files). Encryption is not offered: ClickHouse encrypts only `.zip` backups
(`SETTINGS password`), chDB 4.4 is built without zip support, and poolstream keeps no backup secret.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from api.errors import InvalidRequest
from api.services.db import Db
from schemas.clock import Clock
from sinks.client import ClickHouseSettings, first_line

DONE = ("BACKUP_CREATED", "RESTORED")
FAILED = ("BACKUP_FAILED", "RESTORE_FAILED", "BACKUP_CANCELLED", "RESTORE_CANCELLED")
ENCRYPT_UNSUPPORTED = (
    "encrypt is not supported: ClickHouse encrypts only .zip backups with a password, chDB 4.4 is built "
    "without zip support, and poolstream keeps no backup secret; keep backups on an encrypted volume or an "
    "S3 bucket with server-side encryption, and send encrypt: false"
)


class BackupFailed(Exception):
    """BACKUP or RESTORE failed; the message is ClickHouse's reason in one line."""


@dataclass(frozen=True)
class Target:
    engine: str  # the SQL after TO/FROM, with credentials: never logged or returned
    path: str  # where it is, without credentials


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def local_target(directory: str) -> Target:
    path = os.path.abspath(directory)
    return Target(f"File({quote(path)})", path)


def s3_target(url: str, access_key: str, secret_key: str) -> Target:
    creds = f", {quote(access_key)}, {quote(secret_key)}" if access_key else ""
    return Target(f"S3({quote(url)}{creds})", url)


def backup_name(database: str, now: dt.datetime) -> str:
    return f"{database}-{now.strftime('%Y%m%dT%H%M%S')}"


class BackupInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # ClickHouse's backup id (system.backups)
    type: str = "full"
    database: str
    destination: str  # local | s3
    path: str  # directory or URL, without credentials
    status: str  # BACKUP_CREATED | CREATING_BACKUP (still running: GET /admin/backup/{id}) | RESTORED | ...
    size_bytes: int  # total size of the backup's files (system.backups.total_size)
    files: int
    duration_s: float
    encrypted: bool = False
    error: str | None = None


def _poll(client: Client, backup_id: str, wait_s: float) -> tuple[str, int, int, str]:
    deadline = time.monotonic() + wait_s
    while True:
        rows = client.query("SELECT status, total_size, num_files, error FROM system.backups WHERE id = {id:String}",
                            parameters={"id": backup_id}).result_rows
        status, size, files, error = (str(rows[0][0]), int(rows[0][1]), int(rows[0][2]), str(rows[0][3])) if rows \
            else ("UNKNOWN", 0, 0, "")
        if status in DONE or status in FAILED or time.monotonic() > deadline:
            return status, size, files, error.split(", Stack trace")[0].split("\n")[0]
        time.sleep(0.05)


def backup(client: Client, database: str, target: Target, destination: str, *, wait_s: float = 600) -> BackupInfo:
    """Blocking: BACKUP DATABASE `database` to `target`; waits up to `wait_s` for it to finish."""
    started = time.monotonic()
    try:
        rows = client.query(f"BACKUP DATABASE `{database}` TO {target.engine} ASYNC").result_rows
    except ClickHouseError as exc:
        raise BackupFailed(_reason(exc)) from None
    backup_id = str(rows[0][0])
    status, size, files, error = _poll(client, backup_id, wait_s)
    if status in FAILED:
        raise BackupFailed(error or status)
    return BackupInfo(id=backup_id, database=database, destination=destination, path=target.path, status=status,
                      size_bytes=size, files=files, duration_s=round(time.monotonic() - started, 3))


def restore(client: Client, source_database: str, into: str, target: Target) -> BackupInfo:
    """Blocking: RESTORE DATABASE `source_database` AS `into` from `target` (`into` must not exist)."""
    started = time.monotonic()
    try:
        rows = client.query(f"RESTORE DATABASE `{source_database}` AS `{into}` FROM {target.engine}").result_rows
    except ClickHouseError as exc:
        raise BackupFailed(_reason(exc)) from None
    restore_id = str(rows[0][0])
    status, size, files, _ = _poll(client, restore_id, 0)
    return BackupInfo(id=restore_id, database=into, destination="local", path=target.path, status=status,
                      size_bytes=size, files=files, duration_s=round(time.monotonic() - started, 3))


def databases_in(directory: str) -> list[str]:
    """The databases a local backup holds (its `metadata/` folders)."""
    meta = os.path.join(directory, "metadata")
    if not os.path.isdir(meta):
        raise BackupFailed(f"{directory} is not a ClickHouse backup (no metadata/ folder)")
    return sorted(d for d in os.listdir(meta) if os.path.isdir(os.path.join(meta, d)))


class BackupStatus(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    target: str  # File('...') or S3('url') as ClickHouse names it, without credentials
    status: str
    size_bytes: int
    files: int
    error: str | None = None


def _without_credentials(name: str) -> str:
    return name.split("', '")[0] + "')" if name.startswith("S3(") and "', '" in name else name


def _reason(exc: Exception) -> str:
    return first_line(exc).split(", Stack trace")[0]


class BackupRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of POST /admin/backup (seed 001)."""

    type: str = "full"
    destination: str = "local"  # local | s3 (BACKUP_S3_URL) | an http(s):// S3-compatible folder URL
    encrypt: bool = False


class BackupService:
    def __init__(self, client: Client, db: Db, clock: Clock, settings: ClickHouseSettings, database: str) -> None:
        self._client = client
        self._db = db
        self._clock = clock
        self._settings = settings
        self._database = database

    def target(self, request: BackupRequest, name: str) -> tuple[Target, str]:
        if request.type != "full":
            raise InvalidRequest(f"unsupported backup type {request.type!r}: only `full`", details={"types": ["full"]})
        if request.encrypt:
            raise InvalidRequest(ENCRYPT_UNSUPPORTED, details={"encrypt": True})
        s = self._settings
        if request.destination == "local":
            if s.backups_path is None:
                raise InvalidRequest("no local backup directory: set BACKUP_DIR (chdb://memory has no data dir)")
            return local_target(os.path.join(s.backups_path, name)), "local"
        if request.destination == "s3" or request.destination.startswith(("http://", "https://")):
            base = s.backup_s3_url if request.destination == "s3" else request.destination
            if not base:
                raise InvalidRequest("destination s3 needs BACKUP_S3_URL (and BACKUP_S3_ACCESS_KEY, "
                                     "BACKUP_S3_SECRET_KEY) in the server's settings")
            return s3_target(f"{base.rstrip('/')}/{name}", s.backup_s3_access_key, s.backup_s3_secret_key), "s3"
        raise InvalidRequest(f"unknown destination {request.destination!r}",
                             details={"destinations": ["local", "s3", "http(s)://bucket-url/folder"]})

    async def backup(self, request: BackupRequest, actor: str, ip: str) -> BackupInfo:
        name = backup_name(self._database, self._clock.now())
        target, destination = self.target(request, name)
        try:
            info = await asyncio.to_thread(backup, self._client, self._database, target, destination, wait_s=120)
        except BackupFailed as exc:
            await self._audit(actor, ip, "backup.failed", {"path": target.path, "reason": str(exc)})
            raise InvalidRequest(f"backup failed: {exc}", details={"path": target.path}) from None
        await self._audit(actor, ip, "backup", msgspec.to_builtins(info))
        return info

    async def status(self, backup_id: str) -> BackupStatus | None:
        """A backup started by this process (system.backups lives in the server's memory)."""
        rows = await self._db.rows(
            "SELECT name, status, total_size, num_files, error FROM system.backups WHERE id = {id:String}",
            {"id": backup_id})
        if not rows:
            return None
        name, status, size, files, error = rows[0]
        return BackupStatus(id=backup_id, target=_without_credentials(str(name)), status=str(status),
                            size_bytes=int(size), files=int(files),
                            error=str(error).split(", Stack trace")[0].split("\n")[0] or None)

    async def _audit(self, actor: str, ip: str, action: str, details: dict[str, Any]) -> None:
        row = (self._clock.now(), actor, action, self._database, msgspec.json.encode(details).decode(), ip)
        await self._db.insert("audit_log", [row], ["ts", "actor", "action", "target", "details", "ip"])
