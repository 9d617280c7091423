"""The migration runner: applies `schemas/migrations/NNNN_name.sql` in order and records each one applied.

Runs at start (`poolstream run`, `poolstream migrate`) and in tests; the write path never issues DDL.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split on `;` at line ends; comments stay with the statement that follows them."""
        parts = re.split(r";\s*$", self.sql, flags=re.MULTILINE)
        out = []
        for part in parts:
            body = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
            if body:
                out.append(body)
        return out


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("schemas").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in schemas/migrations: {versions}")
    return found


def applied_versions(client: Client) -> set[int]:
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    return {int(row[0]) for row in client.query("SELECT version FROM schema_migrations FINAL").result_rows}


def migrate(client: Client, *, shares_ttl_days: int | None = None) -> list[Migration]:
    """Apply every migration not yet recorded; returns those applied now. Idempotent."""
    done = applied_versions(client)
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        log.info("applying migration %04d_%s", migration.version, migration.name)
        for statement in migration.statements():
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"])
        applied.append(migration)
    if shares_ttl_days is not None:
        set_shares_ttl(client, shares_ttl_days)
    return applied


def set_shares_ttl(client: Client, days: int) -> None:
    """Keep raw shares `days` days (a setting, so it is applied here rather than fixed in the DDL)."""
    if days <= 0:
        raise ValueError("SHARES_TTL_DAYS must be a positive number of days")
    current = client.command("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'shares'")
    if f"toIntervalDay({days})" in str(current) or f"INTERVAL {days} DAY" in str(current):
        return
    client.command(
        f"ALTER TABLE shares MODIFY TTL toDateTime(ts) + INTERVAL {days} DAY",
        settings={"materialize_ttl_after_modify": 0},
    )
