"""The writer of the `telemetry` table: one INSERT per batch of valid readings, idempotent.

Called by the telemetry agent (`streams.telemetry`) once per flushed batch, before the batch is acked. The
INSERT carries `insert_deduplication_token` from the batch's offset ranges (`streams.offsets.OffsetRanges.
token`), so a retried INSERT writes nothing twice; a replay after a crash, whatever its batch boundaries,
collapses on the reading's key (ReplacingMergeTree, 0006_telemetry.sql). A failure raises: the agent
runtime retries the write with backoff and the same token.
"""

from __future__ import annotations

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.rows import TELEMETRY_ROW_SCHEMA, TELEMETRY_TABLE


class TelemetryWriter:
    def __init__(self, client: Client) -> None:
        self._client = client

    def write(self, rows: pa.Table, token: str) -> None:
        """One INSERT of `rows` (TELEMETRY_ROW_SCHEMA), durable on return; raises on failure."""
        if rows.num_rows == 0:
            return
        if not rows.schema.equals(TELEMETRY_ROW_SCHEMA):
            raise ValueError("rows do not have TELEMETRY_ROW_SCHEMA")
        self._client.insert_arrow(TELEMETRY_TABLE, rows, settings={"insert_deduplication_token": token})
