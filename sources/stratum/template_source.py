"""The default job source: a template generator, no node needed.

Builds structurally valid templates (BIP34 height, a few fake transaction hashes for a real merkle branch,
a random previous-block hash, the configured nBits) so miners hash real headers. A block found on it moves
the simulated tip forward, so miners see `clean_jobs` exactly as on a real chain.
"""

from __future__ import annotations

import hashlib
import os

from schemas.algorithms import Algorithm
from schemas.clock import Clock
from sources.stratum.jobs import BlockTemplate
from sources.stratum.settings import StratumSettings

VERSION = 0x20000000  # BIP9 base version
START_HEIGHT = {Algorithm.SHA256D: 840_000, Algorithm.SCRYPT: 2_700_000}
SUBSIDY = {Algorithm.SHA256D: 312_500_000, Algorithm.SCRYPT: 625_000_000}  # base units
FAKE_TXS = 3


class TemplateJobSource:
    """Synthetic templates per algorithm; `submit_block` accepts the block and advances the tip."""

    def __init__(self, settings: StratumSettings, clock: Clock, fake_txs: int = FAKE_TXS) -> None:
        self._clock = clock
        self._fake_txs = fake_txs
        self._tips: dict[Algorithm, BlockTemplate] = {}
        for port in settings.ports:
            self._tips[port.algorithm] = self._make(
                port.algorithm, START_HEIGHT[port.algorithm], os.urandom(32), port.nbits
            )
        self.blocks_found = 0

    def _make(self, algorithm: Algorithm, height: int, prevhash: bytes, nbits: int) -> BlockTemplate:
        txids = tuple(hashlib.sha256(prevhash + i.to_bytes(4, "little")).digest() for i in range(self._fake_txs))
        return BlockTemplate(
            algorithm=algorithm,
            height=height,
            prevhash=prevhash,
            version=VERSION,
            nbits=nbits,
            curtime=self._clock.now_ms() // 1000,
            coinbase_value=SUBSIDY[algorithm],
            txids=txids,
        )

    async def template(self, algorithm: Algorithm) -> BlockTemplate:
        tip = self._tips[algorithm]
        now = self._clock.now_ms() // 1000
        if now != tip.curtime:
            tip = self._make(algorithm, tip.height, tip.prevhash, tip.nbits)
            self._tips[algorithm] = tip
        return tip

    async def submit_block(self, template: BlockTemplate, block_hex: str, block_hash: bytes) -> bool:
        tip = self._tips[template.algorithm]
        if template.prevhash != tip.prevhash:
            return False  # built on a tip that already moved: stale
        self._tips[template.algorithm] = self._make(template.algorithm, tip.height + 1, block_hash, tip.nbits)
        self.blocks_found += 1
        return True

    async def close(self) -> None:
        return None
