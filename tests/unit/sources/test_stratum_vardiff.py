"""Vardiff steers a connection's share interval toward the target, within its bounds."""

from __future__ import annotations

import random

import pytest

from sources.stratum.vardiff import Vardiff, VardiffPolicy

F = 2.0**32  # hashes per unit of SHA256d difficulty


def simulate(hashrate: float, start: float, seconds: float, seed: int, policy: VardiffPolicy) -> list[float]:
    """A Poisson miner: at difficulty d its shares arrive every Exp(d*F/H) seconds; returns the difficulties."""
    rng = random.Random(seed)
    vd = Vardiff(policy, start, 0.0)
    now, trace = 0.0, []
    while now < seconds:
        gap = rng.expovariate(hashrate / (vd.difficulty * F))
        # the gateway's periodic tick (every second) runs while waiting for the next share
        tick = now + 1.0
        while tick < now + gap and vd.on_tick(tick) is None:
            tick += 1.0
        if tick < now + gap:  # a tick lowered the difficulty: the pending share is drawn again
            now = tick
            continue
        now += gap
        vd.on_share(now)
        trace.append(vd.difficulty)
    return trace


POLICY = VardiffPolicy(target_s=10.0, retarget_s=60.0, variance=0.3, min_difficulty=1e-6, max_difficulty=1e9)


@pytest.mark.parametrize(("hashrate", "start"), [(5e6, 1e-4), (5e6, 1.0), (1e12, 0.01), (1e14, 1e6)])
def test_converges_to_target_interval(hashrate: float, start: float) -> None:
    ideal = hashrate * POLICY.target_s / F
    trace = simulate(hashrate, start, seconds=6 * 3600, seed=7, policy=POLICY)
    tail = trace[len(trace) // 2 :]
    mean = sum(tail) / len(tail)
    assert 0.6 * ideal < mean < 1.6 * ideal, (mean, ideal)


def test_bounds_hold() -> None:
    tight = VardiffPolicy(10.0, 60.0, 0.3, min_difficulty=0.5, max_difficulty=2.0)
    assert all(0.5 <= d <= 2.0 for d in simulate(1e12, 1.0, 3600, 1, tight))  # wants ~2300
    assert all(0.5 <= d <= 2.0 for d in simulate(1e6, 1.0, 3600, 1, tight))  # wants ~0.002


def test_no_change_within_variance() -> None:
    vd = Vardiff(POLICY, 1.0, 0.0)
    changes = [vd.on_share(t * 10.0) for t in range(1, 100)]  # exactly one share per 10 s
    assert changes == [None] * 99 and vd.difficulty == 1.0


def test_burst_retargets_early_and_silence_lowers() -> None:
    vd = Vardiff(POLICY, 1.0, 0.0)
    results = [vd.on_share(0.01 * i) for i in range(1, POLICY.burst_shares + 1)]
    assert results[:-1] == [None] * (POLICY.burst_shares - 1)
    assert results[-1] == 8.0  # one step is capped at x8
    quiet = Vardiff(POLICY, 1.0, 0.0)
    assert quiet.on_tick(30.0) is None
    lowered = quiet.on_tick(120.0)
    assert lowered is not None and lowered < 1.0


def test_shares_of_an_older_easier_job_count_for_their_fraction() -> None:
    """After a raise, a miner like cpuminer keeps finding shares of its previous job at the old difficulty
    (8x easier here): those count 1/8 each, so they do not look like a burst and raise it again."""
    policy = VardiffPolicy(target_s=10.0, retarget_s=60.0, variance=0.3, min_difficulty=1e-6, max_difficulty=1e6)
    vd = Vardiff(policy, 8.0, 0.0)
    for i in range(1, 40):  # one old-job share every 1.25 s = one full share every 10 s: on target
        assert vd.on_share(i * 1.25, weight=1 / 8) is None
    assert vd.difficulty == 8.0
    unweighted = Vardiff(policy, 8.0, 0.0)
    assert any(unweighted.on_share(i * 1.25) is not None for i in range(1, 40))  # what used to happen
