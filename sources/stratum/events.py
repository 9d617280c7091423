"""Share and block events from the gateway to Kafka (job events are `jobs.encode_job`, sent by the job loop).

Shares are buffered as rows and published as Arrow record batches (`schemas.share.encode_arrow`) at most
every `share_flush_ms` or `share_flush_max` rows. Rows are grouped by the partition their miner's address
hashes to (CRC32 mod `partitions`, librdkafka's default `consistent_random` partitioner) and each group is
keyed by one of its miners, so all of a miner's shares land on one partition, in order. Every share carries
the gateway's id and region (`StratumSettings.gateway_id`, `region`): the federation peer that received it.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from bus.publisher import Publisher, partition_of
from schemas.block import Block, encode_block
from schemas.share import SHARE_SCHEMA, encode_arrow

log = logging.getLogger(__name__)

#: One share row in SHARE_SCHEMA column order:
#: ts, algorithm, miner, worker, difficulty, network_difficulty, result, job_id, extranonce2, ntime, nonce,
#: ip, hardware, coin (the gateway and region columns are the recorder's, added per batch).
ShareRow = tuple[int, str, str, str, float, float, str, str, str, int, int, str, str, str]


class ShareRecorder:
    """Buffers share rows per partition and publishes them as Arrow batches."""

    def __init__(self, publisher: Publisher, topic: str, partitions: int, flush_max: int, *,
                 gateway: str = "", region: str = "") -> None:
        self._publisher = publisher
        self._gateway = pa.scalar(gateway, pa.string())
        self._region = pa.scalar(region, pa.string())
        self._topic = topic
        self.partitions = partitions
        self._flush_max = flush_max
        self._buckets: list[list[ShareRow]] = [[] for _ in range(partitions)]
        self._pending = 0
        self.published_rows = 0
        self.published_messages = 0
        self._bucket_cache: dict[str, int] = {}

    def bucket_of(self, miner: str) -> int:
        """The partition (row group) of `miner`'s shares; cached, as every authorize asks."""
        b = self._bucket_cache.get(miner)
        if b is None:
            if len(self._bucket_cache) > 1_000_000:
                self._bucket_cache.clear()
            b = self._bucket_cache[miner] = partition_of(miner, self.partitions)
        return b

    def record(
        self, bucket: int, ts: int, algorithm: str, miner: str, worker: str, difficulty: float,
        network_difficulty: float, result: str, job_id: str, extranonce2: str, ntime: int, nonce: int, ip: str,
        hardware: str, coin: str,
    ) -> None:  # fmt: skip
        """Buffer one share; the ONE place a `ShareRow` is built (positional arguments: this is per share)."""
        self._buckets[bucket].append(
            (ts, algorithm, miner, worker, difficulty, network_difficulty, result, job_id, extranonce2, ntime,
             nonce, ip, hardware, coin)
        )  # fmt: skip
        self._pending += 1
        if self._pending >= self._flush_max:
            self.flush()

    def flush(self) -> None:
        """Publish everything buffered (one message per non-empty partition group)."""
        if not self._pending:
            self._publisher.poll(0)
            return
        for i, rows in enumerate(self._buckets):
            if not rows:
                continue
            self._buckets[i] = []
            columns = list(zip(*rows, strict=True))
            arrays = [pa.array(col, type=f.type) for col, f in zip(columns, SHARE_SCHEMA, strict=False)]
            arrays += [pa.repeat(self._gateway, len(rows)), pa.repeat(self._region, len(rows))]
            batch = pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)
            self._publisher.publish(self._topic, encode_arrow(batch), key=rows[0][2].encode())
            self.published_rows += len(rows)
            self.published_messages += 1
        self._pending = 0


def publish_block(publisher: Publisher, topic: str, block: Block) -> None:
    publisher.publish(topic, encode_block(block), key=block.miner.encode())
