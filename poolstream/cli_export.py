"""`poolstream export tax-report --address A --year Y [--format F] [--fiat JPY] [--basis payout|credit]
[--out FILE]`: the tax report CSV of `GET /api/v1/payouts/export/tax-report` from a terminal (stdout or
--out; progress on stderr). Reads the chDB data directory directly, so `poolstream run` must be stopped;
with a ClickHouse server it runs alongside.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from poolstream.cli_prices import exit_now, refuse_if_held
from poolstream.settings import Settings
from schemas.config import SettingsError


def add_export_parser(sub: Any) -> None:
    from schemas.tax_formats import BASES, FORMATS

    p = sub.add_parser("export", help="exports (tax reports)")
    inner = p.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    tax = inner.add_parser("tax-report", help="a year's mining income of an address as CSV")
    tax.add_argument("--address", required=True, action="append", help="the miner address (repeatable)")
    tax.add_argument("--year", required=True, type=int)
    tax.add_argument("--format", choices=FORMATS, default="generic")
    tax.add_argument("--fiat", default="USD", help="the fiat currency of the prices (default USD)")
    tax.add_argument("--basis", choices=BASES, default="payout",
                     help="payout: when paid (default); credit: when credited (and reversed)")
    tax.add_argument("--out", help="write to this file instead of stdout")
    tax.set_defaults(func=cmd_export_tax_report)


def cmd_export_tax_report(settings: Settings, args: argparse.Namespace) -> None:
    from api.services.prices import code
    from api.services.tax_report import ReportQuery, csv_lines, report_rows
    from sinks.client import ClickHouseUnavailable, connect
    from sinks.migrate import migrate

    refuse_if_held(settings, "export")
    try:
        query = ReportQuery(tuple(args.address), args.year, args.format, code(args.fiat, "--fiat"), args.basis)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    try:
        client = connect(settings.clickhouse)
    except ClickHouseUnavailable as exc:
        raise SettingsError(str(exc)) from None
    migrate(client, shares_ttl_days=settings.clickhouse.shares_ttl_days)
    rows = report_rows(client, query)
    client.close()
    print(f"tax report: {len(rows)} row(s) for {args.year}", file=sys.stderr)

    def progress(done: int) -> None:
        print(f"tax report: {done}/{len(rows)} rows written", file=sys.stderr)

    lines = csv_lines(query.fmt, rows, progress)
    if not args.out:
        sys.stdout.writelines(lines)
    else:
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as out:
                out.writelines(lines)
        except OSError as exc:
            raise SettingsError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"tax report written to {args.out}", file=sys.stderr)
    exit_now(0, settings)

