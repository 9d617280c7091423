"""The simulated chain: a JSON file under the data directory, written by `poolstream simulate`, read by the
maturity job (another process).

Per coin the chain has an origin (time, height) and a block time, so its tip height advances with the clock:
tip(t) = origin_height + (t - origin_ms) // block_time_ms. Each block the simulated fleet found is recorded
with its height and fate: an orphan is not on the main chain (confirmations None); any other block has
tip - height + 1 confirmations (0 before the tip reaches it). Writes replace the file atomically (temporary
file + rename), so a reader never sees half a file; runs merge into what earlier runs recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.clock import Clock
from sources.chain.status import ChainUnavailable

FORMAT_VERSION = 1
#: Where each coin's simulated chain starts (round figures near the real chains' heights).
ORIGIN_HEIGHTS: dict[str, int] = {"BTC": 900_000, "LTC": 2_900_000, "DOGE": 5_800_000}
DEFAULT_ORIGIN_HEIGHT = 1_000_000


@dataclass(frozen=True)
class ChainBlock:
    hash: str
    coin: str
    height: int
    orphan: bool = False


@dataclass(frozen=True)
class ChainTip:
    origin_ms: int
    origin_height: int
    block_time_ms: int

    def height_at(self, ms: int) -> int:
        return self.origin_height + max(0, ms - self.origin_ms) // self.block_time_ms


class SimulatedChainFile:
    """The file's contents in memory: tips per coin, blocks by hash."""

    def __init__(self, tips: dict[str, ChainTip] | None = None, blocks: dict[str, ChainBlock] | None = None) -> None:
        self.tips = tips if tips is not None else {}
        self.blocks = blocks if blocks is not None else {}

    @classmethod
    def load(cls, path: Path) -> SimulatedChainFile:
        """The file at `path`; an empty chain if there is none. Raises `ChainUnavailable` if it is unreadable."""
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise ChainUnavailable(f"simulated chain {path} unreadable: {exc}") from None
        try:
            tips = {code: ChainTip(int(t["origin_ms"]), int(t["origin_height"]), int(t["block_time_ms"]))
                    for code, t in data.get("coins", {}).items()}
            blocks = {h: ChainBlock(h, str(b["coin"]), int(b["height"]), bool(b.get("orphan", False)))
                      for h, b in data.get("blocks", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ChainUnavailable(f"simulated chain {path} malformed: {exc!r}") from None
        return cls(tips, blocks)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "version": FORMAT_VERSION,
            "coins": {c: {"origin_ms": t.origin_ms, "origin_height": t.origin_height,
                          "block_time_ms": t.block_time_ms} for c, t in sorted(self.tips.items())},
            "blocks": {h: {"coin": b.coin, "height": b.height, "orphan": b.orphan}
                       for h, b in sorted(self.blocks.items())},
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

    def tip(self, coin: str, origin_ms: int, block_time_ms: int) -> ChainTip:
        """The coin's chain, started at `origin_ms` if it has none yet."""
        if coin not in self.tips:
            self.tips[coin] = ChainTip(origin_ms, ORIGIN_HEIGHTS.get(coin, DEFAULT_ORIGIN_HEIGHT), max(1, block_time_ms))
        return self.tips[coin]

    def next_height(self, coin: str, ts_ms: int) -> int:
        """The height a block found at `ts_ms` gets: the one above the tip then, above the coin's last recorded
        block of the pool (two pool blocks never share a height)."""
        tip = self.tips[coin]
        taken = max((b.height for b in self.blocks.values() if b.coin == coin), default=-1)
        return max(tip.height_at(ts_ms) + 1, taken + 1)


def record_blocks(path: Path, blocks: Iterable[ChainBlock]) -> None:
    """Merge `blocks` into the chain file at `path` (tips must already be set on a loaded file; see
    `SimulatedChainFile`)."""
    chain = SimulatedChainFile.load(path)
    for block in blocks:
        chain.blocks[block.hash] = block
    chain.save(path)


class SimulatedChain:
    """`ChainStatus` over the simulated chain file, re-read when it changes."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._stamp: tuple[int, int] | None = None
        self._chain = SimulatedChainFile()

    def _current(self) -> SimulatedChainFile:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            raise ChainUnavailable(f"no simulated chain at {self._path} (run `poolstream simulate` first)") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._chain = SimulatedChainFile.load(self._path)
            self._stamp = stamp
        return self._chain

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None:
        chain = self._current()
        block = chain.blocks.get(block_hash.lower())
        if block is None or block.coin != coin or block.height != height:
            raise ChainUnavailable(f"block {block_hash} ({coin} {height}) is not in the simulated chain")
        if block.orphan:
            return None
        tip = chain.tips.get(coin)
        if tip is None:
            raise ChainUnavailable(f"no {coin} chain in {self._path}")
        return max(0, tip.height_at(self._clock.now_ms()) - block.height + 1)
