"""The simulated fleet: who mines which algorithm, on what hardware, at what true hashrate and difficulty.

Each miner (one address) mines one algorithm (round-robin over the chosen algorithms). Each of its workers
draws a device class (CPU/GPU/ASIC, in a mix typical for that algorithm) and a true hashrate from a
lognormal distribution around the class's typical figure. Vardiff gives the worker the power-of-two
difficulty d nearest (in log scale) to H·T/F, so its expected share interval is within a factor √2 of the
target T; shares then arrive as a Poisson process of rate H/(d·F) (DOMAIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from sources.simulate.address import miner_addresses, worker_names
from sources.simulate.options import SimulateOptions

DEVICE_CLASSES: tuple[str, ...] = ("cpu", "gpu", "asic")  # index = class code; name = the `hardware` hint
CPU, GPU, ASIC = 0, 1, 2

#: Spread of true hashrates within one device class (sigma of ln H).
LOGNORMAL_SIGMA = 0.5


@dataclass(frozen=True)
class AlgorithmProfile:
    """Typical hardware and network for one algorithm (round figures of current hardware and networks)."""

    mix: tuple[float, float, float]  # probability of cpu, gpu, asic
    median_hashrate: tuple[float, float, float]  # H/s of a typical cpu, gpu, asic
    network_hashrate: float  # H/s of the whole network
    block_time_s: float

    def network_difficulty(self, algorithm: Algorithm) -> float:
        """Network difficulty in the pool's share-difficulty units (so a share's block odds are d/D)."""
        return self.network_hashrate * self.block_time_s / HASHRATE_FACTOR[algorithm]


PROFILES: dict[Algorithm, AlgorithmProfile] = {
    # Bitcoin: ~100 TH/s ASICs, ~800 EH/s network -> D ≈ 1.1e14, as on mainnet.
    Algorithm.SHA256D: AlgorithmProfile((0.05, 0.10, 0.85), (10e6, 1e9, 100e12), 800e18, 600.0),
    # Litecoin/Dogecoin: ~1 GH/s ASICs (L3+ .. L7), ~1 MH/s GPUs.
    Algorithm.SCRYPT: AlgorithmProfile((0.05, 0.20, 0.75), (50e3, 1e6, 1e9), 2.5e15, 150.0),
    # Ethereum Classic.
    Algorithm.ETHASH: AlgorithmProfile((0.0, 0.85, 0.15), (1e5, 60e6, 1e9), 200e12, 13.0),
    # Monero: CPUs first.
    Algorithm.RANDOMX: AlgorithmProfile((0.85, 0.10, 0.05), (10e3, 2e3, 200e3), 5e9, 120.0),
    # Ravencoin: GPUs.
    Algorithm.KAWPOW: AlgorithmProfile((0.0, 0.95, 0.05), (1e5, 25e6, 1e9), 5e12, 60.0),
}


@dataclass(frozen=True, eq=False)
class Fleet:
    """The simulated fleet as columns: one entry per miner (`miner_*`) or per worker (`worker_*`)."""

    algorithms: tuple[Algorithm, ...]
    addresses: list[str]  # per miner
    miner_algorithm: np.ndarray  # per miner: index into `algorithms`
    worker_names: list[str]  # the W names every miner uses
    worker_miner: np.ndarray  # per worker: miner index
    worker_number: np.ndarray  # per worker: index into `worker_names`
    worker_class: np.ndarray  # per worker: index into DEVICE_CLASSES
    worker_hashrate: np.ndarray  # per worker: true H/s
    worker_difficulty: np.ndarray  # per worker: vardiff share difficulty
    worker_ips: list[str]  # per worker: the address the gateway saw
    network_difficulty: np.ndarray  # per algorithm (aligned with `algorithms`)

    @property
    def size(self) -> int:
        return len(self.worker_miner)

    @property
    def worker_algorithm(self) -> np.ndarray:
        """Per worker: index into `algorithms`."""
        out: np.ndarray = self.miner_algorithm[self.worker_miner]
        return out

    @property
    def worker_factor(self) -> np.ndarray:
        """Per worker: the hashrate factor F of its algorithm."""
        factors = np.array([HASHRATE_FACTOR[a] for a in self.algorithms])
        out: np.ndarray = factors[self.worker_algorithm]
        return out

    @property
    def worker_rate(self) -> np.ndarray:
        """Per worker: expected accepted shares per second, H/(d·F)."""
        rate: np.ndarray = self.worker_hashrate / (self.worker_difficulty * self.worker_factor)
        return rate

    def true_hashrate(self) -> dict[str, float]:
        """Σ true H/s of the workers, per algorithm name."""
        sums = np.bincount(
            self.worker_algorithm, weights=self.worker_hashrate, minlength=len(self.algorithms)
        )
        return {a.wire: float(s) for a, s in zip(self.algorithms, sums, strict=True)}

    def miner_hashrate(self) -> dict[str, float]:
        """Σ true H/s of each miner's workers, per address."""
        sums = np.bincount(self.worker_miner, weights=self.worker_hashrate, minlength=len(self.addresses))
        return {addr: float(s) for addr, s in zip(self.addresses, sums, strict=True)}


def vardiff(hashrate: np.ndarray, factor: np.ndarray, interval_s: float) -> np.ndarray:
    """The power-of-two difficulty nearest (log scale) to H·T/F: one share per ~`interval_s` seconds."""
    ideal = hashrate * interval_s / factor
    out: np.ndarray = np.exp2(np.round(np.log2(ideal)))
    return out


def build_fleet(options: SimulateOptions, rng: np.random.Generator) -> Fleet:
    """Draw the fleet described by `options` from `rng`."""
    algorithms = options.algorithm_codes
    addresses = miner_addresses(options.miners, rng, options.address_hrp)
    miner_algorithm = np.arange(options.miners, dtype=np.int64) % len(algorithms)
    worker_miner = np.repeat(np.arange(options.miners, dtype=np.int64), options.workers)
    worker_number = np.tile(np.arange(options.workers, dtype=np.int64), options.miners)
    worker_algorithm = miner_algorithm[worker_miner]
    size = len(worker_miner)

    worker_class = np.empty(size, dtype=np.int64)
    median = np.empty(size)
    for code, algorithm in enumerate(algorithms):
        profile = PROFILES[algorithm]
        members = np.flatnonzero(worker_algorithm == code)
        classes = rng.choice(len(DEVICE_CLASSES), size=len(members), p=np.array(profile.mix))
        worker_class[members] = classes
        median[members] = np.array(profile.median_hashrate)[classes]
    hashrate = median * rng.lognormal(0.0, LOGNORMAL_SIGMA, size=size)
    factors = np.array([HASHRATE_FACTOR[a] for a in algorithms])[worker_algorithm]
    difficulty = vardiff(hashrate, factors, options.target_share_interval_s)
    ips = [f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}" for k in range(size)]
    network = np.array([options.network_difficulty or PROFILES[a].network_difficulty(a) for a in algorithms])
    return Fleet(
        algorithms=algorithms,
        addresses=addresses,
        miner_algorithm=miner_algorithm,
        worker_names=worker_names(options.workers),
        worker_miner=worker_miner,
        worker_number=worker_number,
        worker_class=worker_class,
        worker_hashrate=hashrate,
        worker_difficulty=difficulty,
        worker_ips=ips,
        network_difficulty=network,
    )
