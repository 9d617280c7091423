"""`poolstream prices import FILE.csv`: load a fiat price series (header `coin,fiat,timestamp,price,source`;
timestamp ISO 8601, UTC when it has no zone; price an exact decimal string) into the `prices` table.

Runs on the chDB data directory directly, so `poolstream run` must be stopped (chDB allows one process);
with a ClickHouse server it runs alongside. A bad row stops the import before anything is written, with one
line naming the row; progress goes to stderr. Re-importing a point replaces it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import Any

from poolstream.cli_users import chdb_in_use
from poolstream.settings import Settings
from schemas.config import SettingsError

HEADER = ("coin", "fiat", "timestamp", "price", "source")
BATCH = 50_000


def add_prices_parser(sub: Any) -> None:
    p = sub.add_parser("prices", help="fiat price series for the tax reports")
    inner = p.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    imp = inner.add_parser("import", help="import a CSV file (coin,fiat,timestamp,price,source)")
    imp.add_argument("file", help="the CSV file ('-' for stdin)")
    imp.set_defaults(func=cmd_prices_import)


def refuse_if_held(settings: Settings, what: str) -> None:
    if settings.clickhouse.embedded and chdb_in_use(settings.clickhouse.dsn):
        raise SettingsError(f"the embedded ClickHouse ({settings.clickhouse.dsn}) is in use, probably by "
                            f"`poolstream run`: stop it to {what}")


def read_points(lines: Iterator[str]) -> list[Any]:
    """The validated points of a price CSV; SettingsError naming the first bad row (row 1 is the header)."""
    from api.services.prices import point

    reader = csv.reader(lines)
    header = tuple(c.strip().lower() for c in next(reader, []))
    if header != HEADER:
        raise SettingsError(f"row 1: the header must be {','.join(HEADER)}, got {','.join(header) or 'nothing'}")
    points = []
    for number, row in enumerate(reader, 2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise SettingsError(f"row {number}: {len(row)} columns, expected {len(HEADER)}")
        coin, fiat, ts, price, source = row
        try:
            points.append(point(coin, fiat, dt.datetime.fromisoformat(ts.strip()), price, source))
        except ValueError as exc:
            raise SettingsError(f"row {number}: {exc}") from None
    return points


def cmd_prices_import(settings: Settings, args: argparse.Namespace) -> None:
    from api.services.prices import insert_prices
    from sinks.client import ClickHouseUnavailable, connect
    from sinks.migrate import migrate

    refuse_if_held(settings, "import prices")
    if args.file == "-":
        points = read_points(iter(sys.stdin))
    else:
        try:
            with open(args.file, newline="", encoding="utf-8") as handle:
                points = read_points(iter(handle))
        except OSError as exc:
            raise SettingsError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        client = connect(settings.clickhouse)
    except ClickHouseUnavailable as exc:
        raise SettingsError(str(exc)) from None
    migrate(client, shares_ttl_days=settings.clickhouse.shares_ttl_days)
    now = dt.datetime.now(dt.UTC)
    done = 0
    for start in range(0, len(points), BATCH):
        done += insert_prices(client, points[start:start + BATCH], now)
        print(f"prices: {done}/{len(points)} stored", file=sys.stderr)
    client.close()
    print(f"{done} price(s) imported", file=sys.stderr)
    exit_now(0, settings)


def exit_now(code: int, settings: Settings) -> None:
    """Leave without chDB's C++ teardown (it can crash at interpreter exit), as `poolstream sql` does."""
    sys.stdout.flush()
    sys.stderr.flush()
    if settings.clickhouse.embedded:
        os._exit(code)
