"""`poolstream sql "SELECT ..." [--format table|csv|json]`: analysts' read-only SQL from a terminal.

Where it runs the statement (always with ClickHouse `readonly=1` and the API_QUERY_* limits,
`api.services.query`):
- CLICKHOUSE_DSN is a ClickHouse server: directly on it.
- chDB, and no `poolstream run` holds the data directory: directly on it (chDB allows one process).
- chDB held by `poolstream run`: through the running API's POST /api/v1/admin/query, with an admin key from
  `--api-key` or POOLSTREAM_API_KEY (without one: one line saying so).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

import msgspec

from poolstream.cli_users import chdb_in_use
from poolstream.settings import Settings
from schemas.config import SettingsError

FORMATS = ("table", "csv", "json")


def add_sql_parser(sub: Any) -> None:
    p = sub.add_parser("sql", help="run one read-only SQL statement (table, CSV or JSON output)")
    p.add_argument("query", help='the statement, e.g. "SELECT count() FROM shares"')
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--max-rows", type=int, help="rows at most (default and ceiling: API_QUERY_MAX_ROWS)")
    p.add_argument("--api-key", help="admin API key, used when `poolstream run` holds the chDB directory "
                                     "(default: POOLSTREAM_API_KEY)")
    p.add_argument("--api-url", help="the running API (default http://API_HOST:API_PORT)")
    p.set_defaults(func=cmd_sql)


def cmd_sql(settings: Settings, args: argparse.Namespace) -> None:
    from api.services.query import QueryRefused, QueryResult, run_readonly

    limit = settings.api.query_max_rows if args.max_rows is None else args.max_rows
    if not 1 <= limit <= settings.api.query_max_rows:
        raise SettingsError(f"--max-rows must be in [1, {settings.api.query_max_rows}] (API_QUERY_MAX_ROWS)")
    result: QueryResult
    if settings.clickhouse.embedded and chdb_in_use(settings.clickhouse.dsn):
        result = _through_api(settings, args, limit)
        print(render(result, args.format))
        return
    from sinks.client import connect

    client = connect(settings.clickhouse)
    try:
        result = run_readonly(client, args.query, max_rows=limit, timeout_s=settings.api.query_timeout_s)
    except QueryRefused as exc:
        client.close()
        if not settings.clickhouse.embedded:
            raise SettingsError(f"query refused: {exc}") from None
        print(f"poolstream: query refused: {exc}", file=sys.stderr)
        _exit_now(2)
    client.close()
    print(render(result, args.format))
    if settings.clickhouse.embedded:
        _exit_now(0)


def render(result: Any, fmt: str) -> str:
    from api.services.query import as_csv, as_table

    if fmt == "csv":
        return as_csv(result).rstrip("\n")
    if fmt == "json":
        return msgspec.json.encode(result).decode()
    return as_table(result)


def _through_api(settings: Settings, args: argparse.Namespace, limit: int) -> Any:
    import httpx

    from api.services.query import QueryResult

    key = args.api_key or os.environ.get("POOLSTREAM_API_KEY", "")
    path = settings.clickhouse.dsn.split("://", 1)[-1]
    if not key:
        raise SettingsError(f"`poolstream run` holds the chDB directory {path}: pass an admin key with --api-key "
                            "or POOLSTREAM_API_KEY to query through its API (or stop it to query directly)")
    url = (args.api_url or f"http://{settings.api.host}:{settings.api.port}").rstrip("/") + "/api/v1/admin/query"
    try:
        response = httpx.post(url, json={"sql": args.query, "format": "json", "max_rows": limit},
                              headers={"Authorization": f"Bearer {key}"},
                              timeout=settings.api.query_timeout_s + 10)
    except httpx.HTTPError as exc:
        raise SettingsError(f"the running API at {url} did not answer ({exc}); is `poolstream run` serving "
                            "there? (--api-url)") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise SettingsError(f"{error.get('code', response.status_code)}: {error.get('message', response.text[:200])}")
    return msgspec.convert(body["data"], QueryResult)


def _exit_now(code: int) -> NoReturn:
    """As `poolstream.cli.exit_now`: leave without chDB's C++ teardown (it can crash at interpreter exit)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
