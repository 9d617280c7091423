"""Backup and restore with ClickHouse's BACKUP/RESTORE on the session's chDB: shares written, the database
backed up to the local backup directory, restored under a new name: the same rows, the bucket tables too."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import pytest
from clickhouse_connect.driver.client import Client

from api.services.backup import BackupFailed, backup, backup_name, databases_in, local_target, restore
from sinks.client import ClickHouseSettings
from tests.conftest import unique

pytestmark = pytest.mark.integration
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]


def test_backup_then_restore_into_a_new_database_gives_the_same_rows(
        clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]]) -> None:
    client, ch = clickhouse_factory()
    rows = [[NOW - dt.timedelta(seconds=i), "sha256d", f"bc1qminer{i % 3:031d}", f"rig{i % 5}", float(i + 1),
             "accepted" if i % 7 else "stale", "gpu"] for i in range(500)]
    client.insert("shares", rows, column_names=COLUMNS)
    assert ch.backups_path is not None
    target = local_target(os.path.join(ch.backups_path, backup_name(ch.database, NOW) + unique("-")))

    info = backup(client, ch.database, target, "local")
    assert info.status == "BACKUP_CREATED" and info.size_bytes > 0 and info.files > 0
    assert databases_in(target.path) == [ch.database]

    copy = unique("restored_")
    restored = restore(client, ch.database, copy, target)
    assert restored.status == "RESTORED"
    select = "SELECT ts, algorithm, miner, worker, difficulty, status FROM `{db}`.shares ORDER BY ts, worker"
    assert client.query(select.format(db=copy)).result_rows == client.query(select.format(db=ch.database)).result_rows
    buckets = "SELECT sum(accepted), sum(sum_difficulty) FROM `{db}`.shares_1m"
    assert client.query(buckets.format(db=copy)).result_rows == client.query(buckets.format(db=ch.database)).result_rows
    assert client.query(f"SELECT count() FROM `{copy}`.shares").result_rows == [(500,)]

    with pytest.raises(BackupFailed, match="already"):
        restore(client, ch.database, copy, target)  # never over an existing database


def test_a_backup_outside_the_allowed_directory_is_refused(
        clickhouse_factory: Callable[[], tuple[Client, ClickHouseSettings]], tmp_path: os.PathLike[str]) -> None:
    client, ch = clickhouse_factory()
    with pytest.raises(BackupFailed, match="not allowed"):
        backup(client, ch.database, local_target(os.path.join(str(tmp_path), "elsewhere")), "local")
