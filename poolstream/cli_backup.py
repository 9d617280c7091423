"""`poolstream backup [--to DIR]` and `poolstream restore --from PATH [--database NAME]`: ClickHouse's own
BACKUP/RESTORE of the pool's database (`api.services.backup`), from the command line.

`backup` writes `DIR/<database>-<UTC time>` (DIR: BACKUP_DIR, default `backups` beside the chDB directory).
`restore` reads a backup directory and restores its database as NAME (default: the name it had), which must not
exist yet. On chDB these open the data directory themselves: while `poolstream run` holds it they answer with
one line naming the fix (stop it, or use POST /api/v1/admin/backup on the running API).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any, NoReturn

from poolstream.cli_users import chdb_in_use
from poolstream.settings import Settings
from schemas.config import SettingsError


def add_backup_parsers(sub: Any) -> None:
    backup = sub.add_parser("backup", help="BACKUP the database to a local directory")
    backup.add_argument("--to", help="directory the backup goes into (default BACKUP_DIR)")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="RESTORE a backup made by `poolstream backup` or the API")
    restore.add_argument("--from", dest="source", required=True, help="the backup's directory")
    restore.add_argument("--database", help="restore as this database (default: the backed-up name; must not exist)")
    restore.set_defaults(func=cmd_restore)


def _refuse_if_held(settings: Settings, command: str) -> None:
    if settings.clickhouse.embedded and chdb_in_use(settings.clickhouse.dsn):
        path = settings.clickhouse.dsn.split("://", 1)[-1]
        raise SettingsError(f"`poolstream run` holds the chDB directory {path} (one process per directory): stop "
                            f"it first{', or use POST /api/v1/admin/backup on its API' if command == 'backup' else ''}")


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from api.services.backup import BackupFailed, backup, backup_name, local_target
    from schemas.clock import SystemClock
    from sinks.client import connect

    _refuse_if_held(settings, "backup")
    ch = dataclasses.replace(settings.clickhouse, backup_dir=args.to) if args.to else settings.clickhouse
    if ch.backups_path is None:
        raise SettingsError("no backup directory: pass --to DIR or set BACKUP_DIR")
    client = connect(ch)
    target = local_target(os.path.join(ch.backups_path, backup_name(ch.database, SystemClock().now())))
    try:
        info = backup(client, ch.database, target, "local")
    except BackupFailed as exc:
        _fail(settings, f"backup failed: {exc}")
    client.close()
    print(f"backup {info.id} of {info.database}: {info.path} ({info.size_bytes} bytes, {info.files} files, "
          f"{info.duration_s:.1f}s)")
    _done(settings, 0)


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from api.services.backup import BackupFailed, databases_in, local_target, restore
    from sinks.client import connect

    _refuse_if_held(settings, "restore")
    source = os.path.abspath(args.source)
    if not os.path.isdir(source):
        raise SettingsError(f"no backup directory at {source}")
    try:
        found = databases_in(source)
    except BackupFailed as exc:
        raise SettingsError(str(exc)) from None
    if not found:
        raise SettingsError(f"{source} holds no database")
    name = settings.clickhouse.database if settings.clickhouse.database in found else found[0]
    into = args.database or name
    ch = dataclasses.replace(settings.clickhouse, backup_dir=os.path.dirname(source))
    client = connect(dataclasses.replace(ch, database="default"))
    try:
        info = restore(client, name, into, local_target(source))
    except BackupFailed as exc:
        _fail(settings, f"restore failed: {exc}" + (" (restore into a new name with --database NAME)"
                                                    if "already" in str(exc) else ""))
    client.close()
    print(f"restored {name} from {source} as {into} ({info.status}, {info.duration_s:.1f}s)")
    _done(settings, 0)


def _fail(settings: Settings, message: str) -> NoReturn:
    if not settings.clickhouse.embedded:
        raise SettingsError(message)
    print(f"poolstream: {message}", file=sys.stderr)
    _done(settings, 2)


def _done(settings: Settings, code: int) -> NoReturn:
    """Leave without chDB's C++ teardown at interpreter exit (as `poolstream.cli.exit_now`)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if settings.clickhouse.embedded or code:
        os._exit(code)
    sys.exit(code)
