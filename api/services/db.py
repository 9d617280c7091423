"""Read access to ClickHouse for the API. Every query runs in a worker thread: the event loop is shared
with the Faust agents and the scheduler, and chDB releases the GIL while it works."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client


class Db:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def rows(self, sql: str, parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The result rows of a parameterised query (`{name:Type}` placeholders, never string formatting)."""
        return await asyncio.to_thread(self._rows, sql, dict(parameters))

    async def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows (DDL, `INSERT ... SELECT`, `ALTER`)."""
        await asyncio.to_thread(self._client.command, sql, parameters=dict(parameters or {}))

    async def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Insert `rows` (tuples in `columns` order) into `table` (a constant of ours, never user input)."""
        await asyncio.to_thread(self._client.insert, table, list(rows), column_names=list(columns))

    def _rows(self, sql: str, parameters: dict[str, Any]) -> Sequence[Sequence[Any]]:
        return self._client.query(sql, parameters=parameters).result_rows
