"""Share and block events from the gateway to Kafka (job events are `jobs.encode_job`, sent by the job loop).

Shares are buffered and published as Arrow record batches (`schemas.share.encode_arrow`) at most every
`share_flush_ms` or `share_flush_max` rows. Rows are grouped by the partition their miner's address
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
ROW_FIELDS = 14  # the fields of a ShareRow
_ROW_TYPES = [f.type for f in SHARE_SCHEMA][:ROW_FIELDS]
#: Rows of a partition turned into Arrow columns at a time (~0.5 ms of the event loop on the development
#: machine): a flush then only joins chunks, instead of converting up to `flush_max` rows in one stall that
#: every miner waiting for an answer would sit through.
CHUNK_ROWS = 1024


class ShareRecorder:
    """Buffers share rows per partition and publishes them as Arrow batches.

    A partition's newest rows are kept as one flat list, field after field (row i is `buf[14 * i : 14 * i +
    14]`): no tuple per row for the cyclic garbage collector to walk. Every `CHUNK_ROWS` rows, each column is
    a strided slice of it, converted to an Arrow array; a flush converts what is left and concatenates.
    """

    def __init__(self, publisher: Publisher, topic: str, partitions: int, flush_max: int, *,
                 gateway: str = "", region: str = "") -> None:
        self._publisher = publisher
        self._gateway = pa.scalar(gateway, pa.string())
        self._region = pa.scalar(region, pa.string())
        self._topic = topic
        self.partitions = partitions
        self._flush_max = flush_max
        self._buckets: list[list[object]] = [[] for _ in range(partitions)]
        self._chunks: list[list[list[pa.Array]]] = [[] for _ in range(partitions)]  # converted, per partition
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
        buf = self._buckets[bucket]
        buf.extend(
            (ts, algorithm, miner, worker, difficulty, network_difficulty, result, job_id, extranonce2, ntime,
             nonce, ip, hardware, coin)
        )  # fmt: skip
        if len(buf) >= CHUNK_ROWS * ROW_FIELDS:
            self._convert(bucket)
        self._pending += 1
        if self._pending >= self._flush_max:
            self.flush()

    def _convert(self, bucket: int) -> None:
        flat = self._buckets[bucket]
        self._buckets[bucket] = []
        self._chunks[bucket].append([pa.array(flat[k::ROW_FIELDS], type=t) for k, t in enumerate(_ROW_TYPES)])

    def flush(self) -> None:
        """Publish everything buffered (one message per non-empty partition group)."""
        if not self._pending:
            self._publisher.poll(0)
            return
        for i in range(self.partitions):
            if self._buckets[i]:
                self._convert(i)
            chunks = self._chunks[i]
            if not chunks:
                continue
            self._chunks[i] = []
            arrays = chunks[0] if len(chunks) == 1 else [pa.concat_arrays(list(c)) for c in zip(*chunks, strict=True)]
            n = len(arrays[0])
            arrays = [*arrays, pa.repeat(self._gateway, n), pa.repeat(self._region, n)]
            batch = pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)
            self._publisher.publish(self._topic, encode_arrow(batch), key=arrays[2][0].as_py().encode())
            self.published_rows += n
            self.published_messages += 1
        self._pending = 0


def publish_block(publisher: Publisher, topic: str, block: Block) -> None:
    publisher.publish(topic, encode_block(block), key=block.miner.encode())
