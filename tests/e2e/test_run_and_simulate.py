"""End to end: `poolstream run`, `poolstream simulate`, the API's numbers, and a restart that loses nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from schemas.algorithms import Algorithm
from sources.simulate.options import SimulateOptions
from sources.simulate.run import plan
from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

SEED = 20261126
FLEET = ["--miners", "4", "--workers", "5", "--duration", "600", "--seed", str(SEED)]


def sigma(options: SimulateOptions, miner: int | None = None) -> float:
    """Standard error (H/s) of Σd·F/T for the simulated fleet: shares are Poisson, so Var = Σ λT·d²·F²/T²."""
    _, fleet, _ = plan(options, 0)
    mask = np.ones(fleet.size, dtype=bool) if miner is None else fleet.worker_miner == miner
    expected = fleet.worker_rate[mask] * options.duration_s
    var = np.sum(expected * (fleet.worker_difficulty[mask] * fleet.worker_factor[mask]) ** 2)
    return float(math.sqrt(var) / options.duration_s)


@pytest.fixture()
def system(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.start()
    try:
        yield s
    finally:
        s.close()


def test_simulated_fleet_hashrate_counts_and_restart(system: System) -> None:
    report = system.simulate(*FLEET, "--invalid-fraction", "0.02", "--duplicate-fraction", "0.01",
                             "--stale-fraction", "0.01")
    assert "true hashrate" in report["_stdout"] and "100%" in report["_stderr"]
    accepted = report["accepted_valid"]
    rejected = sum(report["invalid"].values()) + report["duplicates"]
    system.wait_for(lambda: system.data("/api/v1/stats")["shares_24h"]["accepted"] == accepted, 60,
                    f"{accepted} accepted shares")
    stats = system.data("/api/v1/stats")
    system.wait_for(lambda: system.data("/api/v1/stats")["shares_24h"]["rejected"] == rejected, 30, "rejects")
    assert stats["shares_24h"]["stale"] == report["stale"]
    assert stats["miners"] == 4 and stats["workers"] == 20

    options = SimulateOptions(miners=4, workers=5, duration_s=600, seed=SEED)
    true_h = report["true_hashrate"]["sha256d"]
    pool_h = stats["hashrate_10m"]["by_algorithm"][0]["hashrate"]
    assert abs(pool_h - true_h) <= 3 * sigma(options), (pool_h, true_h, sigma(options))
    for index, (address, miner_true) in enumerate(report["miner_true_hashrate"].items()):
        miner = system.data(f"/api/v1/miners/{address}")
        got = miner["hashrate_10m"]["by_algorithm"][0]["hashrate"]
        assert abs(got - miner_true) <= 3 * sigma(options, index), (address, got, miner_true)
        assert miner["shares"]["accepted"] == report["miner_accepted_shares"][address]
        assert miner["workers"] == 5
        workers = system.data(f"/api/v1/miners/{address}/workers")
        assert sum(w["shares_accepted"] for w in workers) == report["miner_accepted_shares"][address]
    assert Algorithm.SHA256D.wire in stats["algorithms_24h"] and "SHA256d" in stats["algorithms"]

    # Ctrl-C, start again: every accepted share is still there, none counted twice.
    assert system.stop() == 0
    system.start()
    again = system.data("/api/v1/stats")
    assert again["shares_24h"]["accepted"] == accepted
    assert again["shares_24h"]["rejected"] == rejected
    more = system.simulate("--miners", "2", "--workers", "2", "--duration", "120", "--seed", "5", "--encoding", "json")
    total = accepted + more["accepted_valid"]
    system.wait_for(lambda: system.data("/api/v1/stats")["shares_24h"]["accepted"] == total, 60,
                    f"{total} accepted shares after restart")
