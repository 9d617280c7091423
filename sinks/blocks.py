"""The writer of the `blocks` table: one row per block event; replays collapse (ReplacingMergeTree on hash,
version = the event's own time, so a replayed event is the identical row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from schemas.block import Block
from schemas.rows import BLOCK_COLUMNS


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


class BlockWriter:
    def __init__(self, client: Client) -> None:
        self._client = client

    def write(self, blocks: Sequence[Block], token: str) -> None:
        """One INSERT, durable on return; raises on failure (the agent runtime retries the batch's write with
        backoff and the same token, so a retry writes nothing twice)."""
        if not blocks:
            return
        rows = [[b.hash, b.height, _utc(b.ts), b.algorithm, b.coin, b.miner, b.worker, b.reward,
                 b.network_difficulty, b.share_difficulty, b.status, b.job_id, b.header_hex, _utc(b.ts)]
                for b in blocks]
        self._client.insert("blocks", rows, column_names=BLOCK_COLUMNS, settings={"insert_deduplication_token": token})
