"""Blocks of the simulated fleet: a valid share whose hash meets the network target is a block.

A share of difficulty d meets a network difficulty D with probability d/D (DOMAIN.md), so each valid share
of a slice is drawn a block with that probability. A block gets a height on the simulated chain
(`sources.chain.simulated`, the file the maturity job reads), a random hash, a reward = the coin's subsidy +
fees in base units, and its fate: orphaned with probability `orphan_rate`. Draws come from their own
generator, so turning blocks on changes no share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.block import Block
from sources.chain.simulated import ChainBlock, SimulatedChainFile
from sources.simulate.generate import VALID, ShareGenerator, SliceShares

#: Block subsidy per coin in base units (BTC after the 2024 halving, LTC after 2023's, DOGE fixed).
SUBSIDY: dict[str, int] = {"BTC": 312_500_000, "LTC": 625_000_000, "DOGE": 1_000_000_000_000}
DEFAULT_SUBSIDY = 100_000_000
FEE_SHARE = 0.05  # fees: uniform in [0, 5 %) of the subsidy


@dataclass(frozen=True)
class FoundBlock:
    block: Block
    orphan: bool


class BlockFinder:
    """Draws one run's blocks slice by slice and records them in the simulated chain file (if any)."""

    def __init__(self, generator: ShareGenerator, rng: np.random.Generator, *, orphan_rate: float = 0.0,
                 chain_path: Path | None = None, block_time_s: float = 1.0) -> None:
        self._gen = generator
        self._rng = rng
        self._orphan_rate = orphan_rate
        self._chain_path = chain_path
        self._block_time_ms = max(1, round(block_time_s * 1000))
        self._chain = SimulatedChainFile.load(chain_path) if chain_path is not None else SimulatedChainFile()
        self.found: list[FoundBlock] = []

    def find(self, shares: SliceShares) -> list[FoundBlock]:
        """The blocks among `shares` (valid ones only), in time order; the chain file is updated first."""
        gen, fleet = self._gen, self._gen.fleet
        rows = np.flatnonzero(shares.kind == VALID)
        if len(rows) == 0:
            return []
        network = fleet.network_difficulty[fleet.worker_algorithm[shares.worker[rows]]]
        hits = rows[self._rng.random(len(rows)) < shares.difficulty[rows] / network]
        out = []
        for row in hits[np.argsort(shares.ts_ms[hits], kind="stable")].tolist():
            worker = int(shares.worker[row])
            miner = int(shares.miner[row])
            coin = str(gen.coin_dictionary[miner].as_py() or "")
            if not coin:
                continue
            ts = int(shares.ts_ms[row])
            self._chain.tip(coin, gen.start_ms, self._block_time_ms)
            height = self._chain.next_height(coin, ts)
            block_hash = self._rng.bytes(32).hex()
            orphan = bool(self._rng.random() < self._orphan_rate)
            subsidy = SUBSIDY.get(coin, DEFAULT_SUBSIDY)
            reward = subsidy + int(self._rng.integers(0, max(1, int(subsidy * FEE_SHARE))))
            algorithm = fleet.algorithms[int(fleet.worker_algorithm[worker])]
            block = Block(
                ts=ts, algorithm=algorithm.wire, height=height, hash=block_hash, miner=fleet.addresses[miner],
                worker=fleet.worker_names[int(fleet.worker_number[worker])], coin=coin, reward=reward,
                network_difficulty=float(fleet.network_difficulty[int(fleet.worker_algorithm[worker])]),
                share_difficulty=float(shares.difficulty[row]), status="found", job_id=f"{int(shares.job[row]):08x}",
            )
            self._chain.blocks[block_hash] = ChainBlock(block_hash, coin, height, orphan)
            out.append(FoundBlock(block, orphan))
        if out and self._chain_path is not None:
            self._chain.save(self._chain_path)
        self.found.extend(out)
        return out
