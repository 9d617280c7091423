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

    def _rows(self, sql: str, parameters: dict[str, Any]) -> Sequence[Sequence[Any]]:
        return self._client.query(sql, parameters=parameters).result_rows
