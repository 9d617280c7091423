"""Block candidates: a share whose hash met the network target.

The `found` block event goes to `blocks` at once; the full block (header, coinbase with the miner's
extranonces, the template's transactions) is then handed to the job source (`submitblock` on a real node)
in a task, and the port's job loop is woken so miners get the new tip without waiting for the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bus.publisher import Publisher
from schemas.block import Block
from schemas.clock import Clock
from sources.stratum import coinbase as cb
from sources.stratum import metrics
from sources.stratum.events import publish_block
from sources.stratum.jobs import BlockTemplate, JobSource
from sources.stratum.verifier import PendingSubmit

log = logging.getLogger(__name__)


class BlockSubmitter:
    """Publishes and submits the blocks found on one port; `on_submitted` runs after each submission."""

    def __init__(
        self, source: JobSource, publisher: Publisher, topic: str, clock: Clock, on_submitted: Callable[[], None]
    ) -> None:
        self._source = source
        self._publisher = publisher
        self._topic = topic
        self._clock = clock
        self._on_submitted = on_submitted
        self._tasks: set[asyncio.Task[None]] = set()

    def found(self, it: PendingSubmit, header: bytes, difficulty: float) -> None:
        """`it` hashed (as `header`) to a block candidate credited at `difficulty` (on the event loop)."""
        job = it.job
        t = job.template
        w = it.worker
        block_hash = cb.sha256d(header)  # the block id is SHA256d of the header for both algorithms
        metrics.BLOCKS.labels(t.algorithm.wire).inc()
        log.info("block candidate %s at height %d by %s", block_hash[::-1].hex(), t.height, w.miner)
        publish_block(
            self._publisher,
            self._topic,
            Block(
                ts=self._clock.now_ms(), algorithm=t.algorithm.wire, height=t.height, hash=block_hash[::-1].hex(),
                miner=w.miner, worker=w.worker, coin=w.coin, reward=t.coinbase_value,
                network_difficulty=job.network_difficulty, share_difficulty=difficulty, status="found",
                job_id=job.job_id, header_hex=header.hex(),
            ),
        )
        coinbase = job.coinbase(it.extranonce1, it.extranonce2)
        if t.witness_commitment:
            coinbase = cb.witness_coinbase(coinbase)
        block_hex = cb.serialize_block(header, coinbase, t.tx_data)
        task = asyncio.create_task(self._submit(t, block_hex, block_hash))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, template: BlockTemplate, block_hex: str, block_hash: bytes) -> None:
        try:
            ok = await self._source.submit_block(template, block_hex, block_hash)
        except Exception as exc:  # noqa: BLE001 - the block event is already published; log the node error
            log.error("submitblock %s failed: %s", block_hash[::-1].hex(), exc)
            return
        if not ok:
            log.warning("block %s was not accepted by the job source", block_hash[::-1].hex())
        self._on_submitted()  # the tip moved: poll now so miners get a clean job at once

    async def close(self) -> None:
        """Wait for the submissions still running (each bounded by the job source's own timeout)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
