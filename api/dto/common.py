"""Building blocks shared by several resources: hashrate over a window, share counts, rejects by reason,
and the seed 001 algorithm names."""

from __future__ import annotations

import msgspec

from schemas.algorithms import Algorithm

#: Seed 001 spells the algorithms `SHA256d`, `Scrypt`, `Ethash`, `RandomX`, `KawPow`; events and the bucket
#: tables carry `Algorithm.wire` (`sha256d`, ...). The API answers with the seed's names.
SEED_NAMES: dict[Algorithm, str] = {
    Algorithm.SHA256D: "SHA256d",
    Algorithm.SCRYPT: "Scrypt",
    Algorithm.ETHASH: "Ethash",
    Algorithm.RANDOMX: "RandomX",
    Algorithm.KAWPOW: "KawPow",
}


def seed_name(wire: str) -> str:
    """The seed's name of an algorithm given by its wire name (unknown names are returned as they are)."""
    try:
        return SEED_NAMES[Algorithm.parse(wire)]
    except ValueError:
        return wire


class AlgorithmHashrate(msgspec.Struct, frozen=True, kw_only=True):
    algorithm: str
    hashrate: float  # H/s = sum_difficulty * F / seconds; 0 when no accepted share in the window
    sum_difficulty: float  # accepted work in the window
    seconds: float  # effective window T: from the later of the window start and the first share, to now


class WindowHashrate(msgspec.Struct, frozen=True, kw_only=True):
    """Hashrate over one window. Hashes of different algorithms are different work, so `total` is given only
    when at most one algorithm is involved (0.0 when none); with several it is null: use `by_algorithm`.
    (The seed's top-level `hashrate` numbers are the plain sum over algorithms, as issue 8 asks.)"""

    window_seconds: int
    total: float | None
    by_algorithm: list[AlgorithmHashrate]


class ShareCounts(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int
    rejected: int  # every reason except stale
    stale: int


class ReasonCount(msgspec.Struct, frozen=True, kw_only=True):
    reason: str  # a schemas.reasons name (stale included)
    shares: int
