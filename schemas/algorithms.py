"""Known mining algorithms and the hashrate factor F of each (DOMAIN.md: H = Σd·F/T)."""

from __future__ import annotations

import enum


class Algorithm(enum.IntEnum):
    """Algorithm codes; the integer is what kernels see, the name what events and the API carry."""

    SHA256D = 1
    SCRYPT = 2
    ETHASH = 3
    RANDOMX = 4
    KAWPOW = 5

    @property
    def wire(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Algorithm:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(a.wire for a in cls)}") from None


#: Hashes per unit of difficulty. SHA256d uses Bitcoin's exact diff-1 (2^48/0xFFFF); scrypt pools use the
#: x65536 target convention (2^16); Ethash, RandomX and KawPow difficulties count hashes (1).
HASHRATE_FACTOR: dict[Algorithm, float] = {
    Algorithm.SHA256D: 2.0**48 / 0xFFFF,
    Algorithm.SCRYPT: 2.0**16,
    Algorithm.ETHASH: 1.0,
    Algorithm.RANDOMX: 1.0,
    Algorithm.KAWPOW: 1.0,
}

ALGORITHM_NAMES: tuple[str, ...] = tuple(a.wire for a in Algorithm)

#: No difficulty can exceed 2^256: it would take a 256-bit hash below a target of 1 (every algorithm here
#: hashes to 256 bits, and its difficulty-1 target is at most 2^256). A larger value is hostile or broken;
#: sums of real ones stay far from float64's limit (1.8e308).
MAX_DIFFICULTY = 2.0**256


def hashrate(sum_difficulty: float, seconds: float, algorithm: Algorithm) -> float:
    """Hashrate in H/s from the summed share difficulty over a window of `seconds` (0 for an empty window)."""
    if seconds <= 0 or sum_difficulty <= 0:
        return 0.0
    return sum_difficulty * HASHRATE_FACTOR[algorithm] / seconds
