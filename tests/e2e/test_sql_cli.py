"""`poolstream sql`, `backup` and `restore` as a user runs them, on a data directory no `poolstream run` holds;
and the one-line answer when another process holds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import POOLSTREAM

pytestmark = pytest.mark.e2e


def poolstream(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([POOLSTREAM, *args], cwd=workdir, env=env or environment(workdir), capture_output=True,
                          text=True, timeout=180)


def environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "POOLSTREAM_API_KEY"}
    return {**env, "CLICKHOUSE_DSN": f"chdb://{workdir / 'data' / 'clickhouse'}", "LOG_LEVEL": "WARNING"}


def test_sql_backup_and_restore_on_a_stopped_data_directory(tmp_path: Path) -> None:
    assert poolstream(tmp_path, "migrate").returncode == 0
    table = poolstream(tmp_path, "sql", "SELECT version, name FROM schema_migrations FINAL ORDER BY version")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["version", "name"] and set(lines[1]) == {"-", " "}
    assert lines[2].split() == ["1", "shares"] and lines[-1].startswith("(")

    csv = poolstream(tmp_path, "sql", "SELECT 1 AS a, 'x,y' AS b", "--format", "csv")
    assert csv.stdout.splitlines() == ["a,b", '1,"x,y"']
    as_json = json.loads(poolstream(tmp_path, "sql", "SELECT number AS n FROM numbers(5)", "--format", "json",
                                    "--max-rows", "2").stdout)
    assert as_json["rows"] == [[0], [1]] and as_json["truncated"] is True

    write = poolstream(tmp_path, "sql", "DROP TABLE shares")
    assert write.returncode == 2
    assert write.stderr.strip().startswith("poolstream: query refused:") and "readonly" in write.stderr.lower()
    assert len(write.stderr.strip().splitlines()) == 1

    done = poolstream(tmp_path, "sql", "INSERT INTO audit_log (actor) VALUES ('x')")
    assert done.returncode == 2
    backup = poolstream(tmp_path, "backup", "--to", str(tmp_path / "bk"))
    assert backup.returncode == 0, backup.stderr
    [made] = list((tmp_path / "bk").iterdir())
    restored = poolstream(tmp_path, "restore", "--from", str(made), "--database", "copy")
    assert restored.returncode == 0, restored.stderr
    count = poolstream(tmp_path, "sql", "SELECT count() FROM copy.schema_migrations FINAL", "--format", "csv")
    migrations = poolstream(tmp_path, "sql", "SELECT count() FROM schema_migrations FINAL", "--format", "csv")
    assert count.stdout == migrations.stdout and int(count.stdout.splitlines()[1]) >= 10
    again = poolstream(tmp_path, "restore", "--from", str(made), "--database", "copy")
    assert again.returncode == 2 and "--database" in again.stderr


def test_a_held_data_directory_gets_one_line_naming_the_fix(tmp_path: Path) -> None:
    assert poolstream(tmp_path, "migrate").returncode == 0
    dsn = f"chdb://{tmp_path / 'data' / 'clickhouse'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sinks.client import ClickHouseSettings, connect\n"
         f"c = connect(ClickHouseSettings(dsn={dsn!r}))\nc.command('SELECT 1')\nprint('held', flush=True)\n"
         "time.sleep(60)\n"],  # `c` kept: chDB closes the engine (and its lock) with its last handle
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        sql = poolstream(tmp_path, "sql", "SELECT 1")
        assert sql.returncode == 2 and len(sql.stderr.strip().splitlines()) == 1
        assert "--api-key" in sql.stderr and "POOLSTREAM_API_KEY" in sql.stderr
        backup = poolstream(tmp_path, "backup")
        assert backup.returncode == 2 and "/api/v1/admin/backup" in backup.stderr
    finally:
        holder.kill()
        holder.wait(10)
