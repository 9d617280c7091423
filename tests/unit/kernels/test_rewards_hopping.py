"""Simulation (DOMAIN.md oracle): PPLNS pays each share (1−f)·p·B on average whatever its position in the
round, so pool hopping gains nothing; PROP, run on the same blocks, is visibly hoppable (the check has power).

Every share is its own owner, so a split's credits are per share. Standard errors come from batch means over
consecutive stretches of shares (rewards of neighbouring shares are correlated through shared blocks).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kernels.rewards import ShareWindow, split_block

P = 1 / 50  # d / D: a block every 50 shares on average
D = 50.0
X = 2.0  # PPLNS window: 100 shares
REWARD = 100_000_000
FEE_BPS = 100
SHARES = 200_000
BATCH = 4_000
FAIR = (REWARD - REWARD * FEE_BPS // 10_000) * P  # (1−f)·p·B per share


def simulate(scheme: str, blocks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Reward of every share over the blocks found at indices `blocks` (each share scored d/D = P)."""
    earned = np.zeros(SHARES, dtype=np.float64)
    previous = -1
    for b in blocks.tolist():
        first = max(0, b - int(X / P) - 4) if scheme == "pplns" else previous + 1
        idx = np.arange(b, first - 1, -1)  # newest first, the block's own share first
        window = ShareWindow(np.arange(idx.size, dtype=np.int64), np.ones(idx.size), np.full(idx.size, D),
                             tuple(str(i) for i in idx.tolist()))
        split = split_block(scheme, REWARD, FEE_BPS, window, window_factor=X)
        for who, amount in split.credits.items():
            earned[int(who)] += amount
        previous = b
    return earned


def bucket_mean(earned: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """Mean reward of the shares in `mask` and its standard error (batch means)."""
    means = [earned[s:s + BATCH][mask[s:s + BATCH]].mean() for s in range(0, SHARES - BATCH + 1, BATCH)]
    return float(np.mean(means)), float(np.std(means, ddof=1) / np.sqrt(len(means)))


def test_pplns_is_hopping_proof_and_prop_is_not() -> None:
    rng = np.random.default_rng(20260901)
    is_block = rng.random(SHARES) < P
    blocks = np.flatnonzero(is_block)
    # position of each share in its round (0 = first share after the previous block)
    starts = np.zeros(SHARES, dtype=np.int64)
    starts[1:][is_block[:-1]] = np.arange(1, SHARES)[is_block[:-1]]
    position = np.arange(SHARES) - np.maximum.accumulate(starts)
    # shares near the end have not met all their blocks yet (PPLNS), or are in an unfinished round (PROP)
    settled = np.arange(SHARES) < blocks[-1] - 2 * int(X / P)
    early = settled & (position < 10)  # what a hopper mines
    late = settled & (position >= 100)  # what a hopper leaves to the loyal miners

    pplns = simulate("pplns", blocks)
    for mask in (early, late, settled):
        mean, se = bucket_mean(pplns, mask)
        assert se < 0.05 * FAIR  # resolution: 4 standard errors stay under 20 % of the fair pay
        assert abs(mean - FAIR) < 4 * se, (mean, FAIR, se)

    prop = simulate("prop", blocks)
    early_mean, early_se = bucket_mean(prop, early)
    late_mean, late_se = bucket_mean(prop, late)
    assert early_mean > FAIR + 4 * early_se and late_mean < FAIR - 4 * late_se
