"""Integer apportionment of a base-unit amount by largest remainder (Hamilton), with a stable tie-break.

Weights are exact integers (float weights are first made exact by `exact_ints`, which scales them to a
common power-of-two denominator without rounding), so the split is exact rational arithmetic in Python
ints: every claimant gets floor(total·w/Σw), and the units left over go one by one to the largest
fractional parts, ties to the smaller key. Σ result == total always; no amount is negative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def exact_ints(values: Sequence[float]) -> list[int]:
    """The finite, non-negative floats `values` as integers over one common power-of-two denominator
    (the exact value of each float, no rounding): ratios between them are preserved exactly."""
    ratios = [float(v).as_integer_ratio() for v in values]
    for (num, _), v in zip(ratios, values, strict=True):
        if num < 0 or not math.isfinite(v):
            raise ValueError(f"weights must be finite and >= 0, got {v!r}")
    scale = max((den for _, den in ratios), default=1)  # powers of two: the largest is a common multiple
    return [num * (scale // den) for num, den in ratios]


def largest_remainder(total: int, weights: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Split `total` base units over claimants with integer `weights` (>= 0, Σ > 0) and unique `keys`:
    floors first, then one unit each to the largest remainders, ties broken by key (ascending)."""
    if total < 0:
        raise ValueError("total must be >= 0")
    if len(weights) != len(keys):
        raise ValueError("one key per weight")
    den = sum(weights)
    if den <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0 with a positive sum")
    parts = [divmod(total * w, den) for w in weights]
    amounts = [q for q, _ in parts]
    left = total - sum(amounts)  # < number of claimants with a non-zero remainder
    if left:
        order = sorted(range(len(parts)), key=lambda i: (-parts[i][1], keys[i]))
        for i in order[:left]:
            amounts[i] += 1
    return amounts
