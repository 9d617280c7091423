"""Row schemas of the ClickHouse tables the agents write, next to their SQL (`schemas/migrations/`).

A writer takes rows in exactly these columns; the migrations create the tables with the same names.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.telemetry import TELEMETRY_SCHEMA

SHARES_TABLE = "shares"
BLOCKS_TABLE = "blocks"
TELEMETRY_TABLE = "telemetry"

#: The event times every table can hold, in ms since the Unix epoch: the rollups bucket `ts` into
#: `DateTime` columns (seconds as UInt32: 1970-01-01 to 2106-02-07). A time outside cannot be stored
#: faithfully (ClickHouse would clamp or wrap it, and clients reading it back fail), so an event carrying one
#: is undecodable.
TS_MIN_MS = 0
TS_MAX_MS = 0xFFFFFFFF * 1000

#: `shares` (0001_shares.sql, 0004_share_coin.sql, 0009_federation.sql): one row per decoded share, accepted
#: or not.
SHARES_ROW_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("ms", tz="UTC")),
        pa.field("algorithm", pa.string()),
        pa.field("miner", pa.string()),
        pa.field("worker", pa.string()),
        pa.field("difficulty", pa.float64()),
        pa.field("network_difficulty", pa.float64()),
        pa.field("status", pa.string()),
        pa.field("job_id", pa.string()),
        pa.field("extranonce2", pa.string()),
        pa.field("ntime", pa.uint32()),
        pa.field("nonce", pa.uint32()),
        pa.field("ip", pa.string()),
        pa.field("hardware", pa.string()),
        pa.field("coin", pa.string()),
        pa.field("gateway", pa.string()),
        pa.field("region", pa.string()),
        pa.field("share_key", pa.uint64()),
        pa.field("src_topic", pa.string()),
        pa.field("src_topic_id", pa.string()),
        pa.field("src_partition", pa.uint16()),
        pa.field("src_offset", pa.uint64()),
        pa.field("ingested_at", pa.timestamp("ms", tz="UTC")),
    ]
)

#: `blocks` (0003_blocks.sql): one row per block event.
BLOCK_COLUMNS = ["hash", "height", "ts", "algorithm", "coin", "miner", "worker", "reward", "network_difficulty",
                 "share_difficulty", "status", "job_id", "header_hex", "updated_at"]

#: `telemetry` (0006_telemetry.sql, 0015_telemetry_rollup.sql): one row per valid reading. Missing readings are
#: null; `flags` is the reading's `schemas.telemetry.TelemetryFlag` bitmask (0 = clean).
TELEMETRY_ROW_SCHEMA = pa.schema(
    [*(field.with_nullable(True) for field in TELEMETRY_SCHEMA),  # the event's columns, as stored
     pa.field("src_topic", pa.string()),
     pa.field("src_partition", pa.uint16()),
     pa.field("src_offset", pa.uint64()),
     pa.field("ingested_at", pa.timestamp("ms", tz="UTC")),
     pa.field("flags", pa.uint16())]
)
