"""Reward-split speed: a PPLNS split over a 1,000,000-share window (target <= 50 ms), PROP over the same
shares, and PPS values for them. `python -m bench.rewards` prints the figures; `run()` returns them.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from kernels.rewards import ShareWindow, pps_value, split_block

SHARES = 1_000_000
MINERS = 10_000
REWARD = 312_500_000 + 25_000_000  # 3.125 BTC subsidy + fees, in satoshi


def window(shares: int = SHARES, miners: int = MINERS, seed: int = 9) -> ShareWindow:
    """`shares` shares of `miners` owners whose scores fill an X=2 window at the very last share."""
    rng = np.random.default_rng(seed)
    difficulty = rng.choice(np.array([512.0, 1024.0, 2048.0, 4096.0]), size=shares)
    network = np.full(shares, float(difficulty.sum()) / 2.0 * (1 - 1e-9))
    owner = rng.integers(0, miners, size=shares, dtype=np.int64)
    return ShareWindow(owner, difficulty, network, tuple(f"bc1qminer{i:06d}" for i in range(miners)))


def _ms(fn: Callable[[], object], repeat: int = 7) -> float:
    fn()  # warm-up: load the cached kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run() -> dict[str, float]:
    w = window()
    split = split_block("pplns", REWARD, 100, w)
    assert split.window_shares == SHARES and sum(split.credits.values()) + split.fee + split.remainder == REWARD
    figures = {
        f"PPLNS split, {SHARES:,} shares / {MINERS:,} miners, ms": _ms(lambda: split_block("pplns", REWARD, 100, w)),
        f"PROP split, {SHARES:,} shares / {MINERS:,} miners, ms": _ms(lambda: split_block("prop", REWARD, 100, w)),
        f"PPS values, {SHARES:,} shares, ms": _ms(lambda: pps_value(w.difficulty, w.network_difficulty, REWARD, 100)),
    }
    for name, value in figures.items():
        print(f"rewards {name}: {value:,.1f}")
    return figures


if __name__ == "__main__":
    run()
    sys.exit(0)
