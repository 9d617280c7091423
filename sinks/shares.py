"""The writer of the `shares` table: one INSERT per flushed batch, idempotent; raises on failure (the agent
runtime retries the batch's write with backoff and the same token, `streams.supervision`).

Idempotency has two layers. (1) Each row carries the Kafka message it came from (src_topic, src_partition,
src_offset); the same INSERT feeds `ingest_progress`, so after a restart the agent reads the highest offset
written per partition (`watermarks`) and skips anything at or below it, whatever the batch boundaries of the
replay. (2) Each INSERT carries a deterministic `insert_deduplication_token` built from the offset ranges it
covers, so a retried INSERT after a timeout writes nothing twice (also in the materialized views).

Transport: on a ClickHouse server the rows go as an Arrow stream (`insert_arrow`). On chDB with a data
directory the same INSERT reads the Arrow table in place through chDB's `Python()` table function (its own
handle on the engine): no Arrow file is serialized, written to a temp file and parsed back, which was a third
of the insert's time. Low-cardinality columns may arrive dictionary-encoded (`streams.prepare` does that).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.rows import SHARES_TABLE
from sinks import repair
from sinks.repair import Repair


class ShareWriter:
    """Writes share rows; `write` returns once the rows are durable and raises otherwise. Dropping shares is
    not an option: the agent retries the write forever with backoff, and backpressure reaches the consumer."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._in_place: _InPlaceInsert | None = _InPlaceInsert.open(client)

    def write(self, rows: pa.Table, token: str) -> None:
        if rows.num_rows == 0:
            return
        settings: dict[str, Any] = {
            "insert_deduplication_token": token,
            "deduplicate_blocks_in_dependent_materialized_views": 1,
            "max_insert_block_size": max(rows.num_rows, 1_048_576),
            # the materialized views (rollups, ingest_progress) of one INSERT run side by side
            "parallel_view_processing": 1,
        }
        if self._in_place is not None:
            self._in_place.insert(SHARES_TABLE, rows, settings)
        else:
            self._client.insert_arrow(SHARES_TABLE, rows, settings=settings)

    def close(self) -> None:
        """Close the writer's own chDB handle, if it has one (the client stays the caller's)."""
        if self._in_place is not None:
            self._in_place.close()
            self._in_place = None

    def record_intent(self, topic: str, topic_id: str, token: str, ranges: list[list[int]], rows: int) -> None:
        """Record what the next `write` is about to insert (`sinks.repair` completes it after a crash)."""
        if rows == 0:
            return
        now_ns = time.time_ns()
        row = [topic, topic_id, now_ns, token, json.dumps(ranges), rows,
               dt.datetime.fromtimestamp(now_ns / 1e9, dt.UTC)]
        self._client.insert("insert_intents", [row],
                            column_names=["topic", "topic_id", "seq", "token", "ranges", "rows", "at"])

    def complete_last_insert(self, topic: str, topic_id: str) -> Repair:
        """Before consuming: complete the last INSERT of `topic` if a crash cut it short (`sinks.repair`)."""
        return repair.complete(self._client, topic, topic_id)

    def watermarks(self, topic: str, topic_id: str) -> dict[int, int]:
        """Highest offset durably written per partition of `topic` (this incarnation of it: `topic_id`)."""
        result = self._client.query(
            "SELECT partition, max(max_offset) FROM ingest_progress WHERE topic = {t:String} "
            "AND topic_id = {id:String} GROUP BY partition",
            parameters={"t": topic, "id": topic_id},
        )
        return {int(p): int(o) for p, o in result.result_rows}

    def recent_keys(self, since_ms: int) -> tuple[list[int], list[int]]:
        """Keys and times of accepted shares since `since_ms` (rebuilds the duplicate window after a restart)."""
        result = self._client.query(
            "SELECT share_key, toUnixTimestamp64Milli(ts) FROM shares "
            "WHERE ts >= fromUnixTimestamp64Milli({since:Int64}) AND status = 'accepted' ORDER BY ts",
            parameters={"since": since_ms},
        )
        keys = [int(r[0]) for r in result.result_rows]
        times = [int(r[1]) for r in result.result_rows]
        return keys, times


class _InPlaceInsert:
    """INSERT ... SELECT * FROM Python(rows) on a chDB engine: chDB reads the Arrow table in this process's
    memory. Its own chDB handle on the client's data directory (handles to one path share the engine)."""

    def __init__(self, connection: Any, database: str) -> None:
        self._connection = connection
        self._database = database

    @classmethod
    def open(cls, client: Client) -> _InPlaceInsert | None:
        """For a clickhouse-connect chDB client on a data directory; None for anything else (a server, or an
        in-memory chDB whose handles would not share data)."""
        try:
            from clickhouse_connect.driver._chdbclient import ChdbClient
        except ImportError:  # pragma: no cover - clickhouse-connect without chDB support
            return None
        path = getattr(client, "path", "")
        if not isinstance(client, ChdbClient) or not path or path.startswith(":memory:") or not client.database:
            return None
        import chdb

        return cls(chdb.connect(path), client.database)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._connection.close()

    def insert(self, table: str, rows: pa.Table, settings: Mapping[str, Any]) -> None:
        squash = {
            # one INSERT block, whatever the batch size: one dedup token, one part per partition
            "min_insert_block_size_rows": max(rows.num_rows, 1_048_576),
            "min_insert_block_size_bytes": max(rows.nbytes * 2, 1 << 28),
        }
        clause = ", ".join(f"{k} = {_literal(v)}" for k, v in {**settings, **squash}.items())
        columns = ", ".join(f"`{name}`" for name in rows.schema.names)
        sql = (f"INSERT INTO `{self._database}`.`{table}` ({columns}) SETTINGS {clause} "
               f"SELECT {columns} FROM Python(rows)")
        # chDB's Python() resolves `rows` by name in this frame
        self._connection.query(sql)


def _literal(value: Any) -> str:
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
