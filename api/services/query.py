"""Analysts' read-only SQL (POST /api/v1/admin/query and `poolstream sql`): one statement, run by ClickHouse
with `readonly=1` (so ClickHouse itself refuses writes, DDL, SET and file/url table functions),
`max_execution_time` and `max_result_rows` (overflow mode `break`; the answer is cut at `max_rows` and says
`truncated`). `INTO OUTFILE` is refused before it reaches ClickHouse (readonly does not stop it in chDB).
The result is read as ClickHouse's own JSONCompact, so every column type arrives as ClickHouse renders it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from api.errors import InvalidRequest
from api.services.db import Db
from schemas.clock import Clock
from sinks.client import first_line

FORMATS = ("json", "csv")
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)
MAX_BLOCK = 65_536
AUDIT_COLUMNS = ["ts", "actor", "action", "target", "details", "ip"]


class QueryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sql: str
    format: str = "json"  # json | csv
    max_rows: int | None = None  # at most API_QUERY_MAX_ROWS (the default)


class Column(msgspec.Struct, frozen=True):
    name: str
    type: str


class QueryResult(msgspec.Struct, frozen=True, kw_only=True):
    columns: list[Column]
    rows: list[list[Any]]  # `format: json`; empty with csv
    row_count: int
    truncated: bool  # more rows than max_rows existed; the first max_rows are here
    elapsed_ms: float
    format: str = "json"
    csv: str | None = None  # `format: csv`: the result as CSV with a header line


class QueryRefused(Exception):
    """ClickHouse (or the INTO OUTFILE rule) refused the statement; the message is the reason."""


def run_readonly(client: Client, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
    """Blocking: run one read-only statement with the limits; raises `QueryRefused` with ClickHouse's reason."""
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise QueryRefused("empty statement")
    if _OUTFILE.search(statement):
        raise QueryRefused("INTO OUTFILE writes a file: not allowed in a read-only query")
    # readonly last: once it is set, ClickHouse refuses to change the settings after it
    # one row more than answered: its presence says the answer is cut (`truncated`)
    settings = {"max_result_rows": max_rows + 1, "result_overflow_mode": "break",
                "max_block_size": min(max_rows + 1, MAX_BLOCK), "max_execution_time": timeout_s, "readonly": 1}
    started = time.perf_counter()
    try:
        raw = client.raw_query(statement, settings=settings, fmt="JSONCompact")
    except ClickHouseError as exc:
        raise QueryRefused(_reason(exc)) from None
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    if not raw.strip():
        raise QueryRefused("the statement returned no result set (only SELECT-like statements are answered)")
    body = msgspec.json.decode(raw)
    rows = body.get("data", [])
    columns = [Column(c["name"], c["type"]) for c in body.get("meta", [])]
    return QueryResult(columns=columns, rows=rows[:max_rows], row_count=min(len(rows), max_rows),
                       truncated=len(rows) > max_rows, elapsed_ms=elapsed)


def as_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in result.columns])
    writer.writerows([_cell(v) for v in row] for row in result.rows)
    return out.getvalue()


def as_table(result: QueryResult, max_width: int = 40) -> str:
    """Aligned columns for a terminal; long cells are cut with `…`."""
    header = [c.name for c in result.columns]
    body = [[_short(str(_cell(v)), max_width) for v in row] for row in result.rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    numeric = [_is_numeric(c.type) for c in result.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)).rstrip()

    lines = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in body]
    more = " (truncated: more rows exist)" if result.truncated else ""
    lines.append(f"({result.row_count} row{'s' if result.row_count != 1 else ''}, {result.elapsed_ms:.0f} ms){more}")
    return "\n".join(lines)


def _cell(value: Any) -> Any:
    return msgspec.json.encode(value).decode() if isinstance(value, list | dict) else value


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_numeric(ch_type: str) -> bool:
    base = ch_type.removeprefix("Nullable(").removeprefix("LowCardinality(")
    return base.startswith(("Int", "UInt", "Float", "Decimal"))


def _reason(exc: Exception) -> str:
    """ClickHouse's reason in one line, without the driver's wrapping or the server's stack trace."""
    text = first_line(exc)
    found = re.search(r"(Code: \d+\. DB::Exception: .*)", text)
    return (found.group(1) if found else text).split(", Stack trace")[0].strip()


class QueryService:
    """The API side: limits from settings, the query in a worker thread, every query audited.

    Queries run on a client of their own (`open_client`, opened at the first query): the chDB driver keeps
    the settings of a raw query on its handle, and `readonly=1` must never stick to the client that writes.
    """

    def __init__(self, open_client: Callable[[], Client], db: Db, clock: Clock, *, max_rows: int,
                 timeout_s: float) -> None:
        self._open_client = open_client
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._db = db
        self._clock = clock
        self.max_rows = max_rows
        self.timeout_s = timeout_s

    async def run(self, request: QueryRequest, actor: str, ip: str) -> QueryResult:
        if request.format not in FORMATS:
            raise InvalidRequest(f"unknown format {request.format!r}", details={"formats": list(FORMATS)})
        limit = self.max_rows if request.max_rows is None else request.max_rows
        if not 1 <= limit <= self.max_rows:
            raise InvalidRequest(f"max_rows must be in [1, {self.max_rows}] (API_QUERY_MAX_ROWS)",
                                 details={"max_rows": request.max_rows})
        details: dict[str, Any] = {"sql": request.sql[:4000], "format": request.format, "max_rows": limit}
        try:
            result = await asyncio.to_thread(self._run, request.sql, limit)
        except QueryRefused as exc:
            await self._audit(actor, ip, "query.refused", {**details, "reason": str(exc)})
            raise InvalidRequest(f"query refused: {exc}", details={"reason": str(exc)}) from None
        await self._audit(actor, ip, "query", {**details, "rows": result.row_count, "truncated": result.truncated,
                                               "elapsed_ms": result.elapsed_ms})
        if request.format == "csv":
            return msgspec.structs.replace(result, rows=[], format="csv", csv=as_csv(result))
        return result

    def _run(self, sql: str, limit: int) -> QueryResult:
        with self._lock:  # one query at a time on the dedicated handle
            if self._client is None:
                self._client = self._open_client()
            return run_readonly(self._client, sql, max_rows=limit, timeout_s=self.timeout_s)

    async def _audit(self, actor: str, ip: str, action: str, details: dict[str, Any]) -> None:
        row = (self._clock.now(), actor, action, "clickhouse", msgspec.json.encode(details).decode(), ip)
        await self._db.insert("audit_log", [row], AUDIT_COLUMNS)
