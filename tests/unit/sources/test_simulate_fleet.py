"""The simulated fleet: addresses, worker names, hardware mix, hashrates and vardiff difficulties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.identity import valid_address, valid_worker
from sources.simulate.address import bech32_verify, miner_addresses, segwit_v0_address, worker_names
from sources.simulate.fleet import ASIC, DEVICE_CLASSES, PROFILES, build_fleet, vardiff
from sources.simulate.generate import BAD_ADDRESSES, BAD_WORKER_NAMES
from sources.simulate.options import SimulateOptions


def test_bip173_vector() -> None:
    program = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")
    assert segwit_v0_address("bc", program) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def test_addresses_are_checksummed_distinct_and_seeded() -> None:
    addresses = miner_addresses(500, np.random.default_rng(7))
    assert len(set(addresses)) == 500
    for address in addresses:
        assert address.startswith("bc1q") and len(address) == 42
        assert address == address.lower() and address.isalnum()
        assert bech32_verify(address)
    assert miner_addresses(500, np.random.default_rng(7)) == addresses
    assert not bech32_verify(addresses[0][:-1] + ("q" if addresses[0][-1] != "q" else "p"))


def test_worker_names() -> None:
    assert worker_names(3) == ["rig-0001", "rig-0002", "rig-0003"]


def test_good_and_bad_identities_follow_the_pipeline_rule() -> None:
    assert all(valid_address(a) for a in miner_addresses(50, np.random.default_rng(1)))
    assert all(valid_worker(w) for w in worker_names(12))
    assert not any(valid_address(a) for a in BAD_ADDRESSES)
    assert not any(valid_worker(w) for w in BAD_WORKER_NAMES)


def test_vardiff_is_a_power_of_two_near_the_target_interval() -> None:
    rng = np.random.default_rng(1)
    hashrate = 10 ** rng.uniform(3, 15, size=1000)
    factor = np.full(1000, HASHRATE_FACTOR[Algorithm.SHA256D])
    d = vardiff(hashrate, factor, 10.0)
    assert np.all(np.log2(d) == np.round(np.log2(d)))
    interval = d * factor / hashrate
    assert np.all(interval >= 10 / math.sqrt(2) - 1e-9) and np.all(interval <= 10 * math.sqrt(2) + 1e-9)


def test_fleet_shape_and_determinism() -> None:
    options = SimulateOptions(miners=30, workers=4, algorithms=("sha256d", "scrypt", "randomx"), seed=3)
    fleet = build_fleet(options, np.random.default_rng(3))
    again = build_fleet(options, np.random.default_rng(3))
    assert fleet.size == 120
    assert np.array_equal(fleet.worker_hashrate, again.worker_hashrate)
    assert fleet.addresses == again.addresses
    # round-robin algorithms over miners; a miner's workers share its algorithm
    assert fleet.miner_algorithm.tolist() == [i % 3 for i in range(30)]
    assert np.all(np.bincount(fleet.worker_miner) == 4)
    assert set(fleet.worker_class.tolist()) <= set(range(len(DEVICE_CLASSES)))
    assert np.all(fleet.worker_hashrate > 0) and np.all(fleet.worker_difficulty > 0)
    # true hashrate per algorithm is the sum over workers
    true = fleet.true_hashrate()
    assert sum(true.values()) == pytest.approx(float(fleet.worker_hashrate.sum()))
    assert sum(fleet.miner_hashrate().values()) == pytest.approx(float(fleet.worker_hashrate.sum()))
    # network difficulty is in share-difficulty units and far above any share's
    assert np.all(fleet.network_difficulty[fleet.worker_algorithm] > fleet.worker_difficulty * 1e3)


def test_sha256d_asics_are_around_100_th() -> None:
    options = SimulateOptions(miners=400, workers=5, seed=1)
    fleet = build_fleet(options, np.random.default_rng(1))
    asic = fleet.worker_hashrate[fleet.worker_class == ASIC]
    assert len(asic) > 0.7 * fleet.size  # the sha256d mix is mostly ASICs
    assert np.median(asic) == pytest.approx(PROFILES[Algorithm.SHA256D].median_hashrate[ASIC], rel=0.15)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"miners": 0}, "--miners"),
        ({"miners": 1, "workers": 0}, "--workers"),
        ({"miners": 1, "duration_s": 0}, "--duration"),
        ({"miners": 1, "encoding": "xml"}, "--encoding"),
        ({"miners": 1, "algorithms": ("x11",)}, "--algorithm"),
        ({"miners": 1, "algorithms": ()}, "--algorithm"),
        ({"miners": 1, "invalid_fraction": 1.0}, "--invalid-fraction"),
        ({"miners": 1, "stale_fraction": -0.1}, "--stale-fraction"),
        ({"miners": 1, "duplicate_fraction": 0.5, "stale_fraction": 0.5}, "--invalid-fraction"),
        ({"miners": 1, "shares_per_message": 0}, "--shares-per-message"),
    ],
)
def test_bad_options_name_the_flag(kwargs: dict[str, object], flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        SimulateOptions(**kwargs)  # type: ignore[arg-type]
