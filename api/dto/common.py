"""Building blocks shared by several resources: hashrate over a window, share counts, rejects by reason."""

from __future__ import annotations

import msgspec


class AlgorithmHashrate(msgspec.Struct, frozen=True, kw_only=True):
    algorithm: str
    hashrate: float  # H/s = sum_difficulty * F / seconds; 0 when no accepted share in the window
    sum_difficulty: float  # accepted work in the window
    seconds: float  # effective window T: from the later of the window start and the first share, to now


class WindowHashrate(msgspec.Struct, frozen=True, kw_only=True):
    """Hashrate over one window. Hashes of different algorithms do not add up, so `total` is given only
    when at most one algorithm is involved (0.0 when none); with several it is null: use `by_algorithm`."""

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
