"""Difficulty <-> target arithmetic (Stratum diff-1 conventions, compact nBits) and the batch share-target check.

Targets are exact Python ints; hashes are raw digests compared as 256-bit little-endian integers.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit
from numpy.typing import NDArray

from kernels.sha256d import as_u8_matrix

# mypy: allow-untyped-defs, allow-untyped-calls, allow-untyped-decorators

DIFF1_SHA256D: int = 0xFFFF << 208
DIFF1_SCRYPT: int = 0xFFFF << 224  # the SHA256d diff-1 target x 65536 (Litecoin/Dogecoin pools)
MAX_TARGET: int = (1 << 256) - 1

_DIFF1 = {"sha256d": DIFF1_SHA256D, "scrypt": DIFF1_SCRYPT}


def diff1_for(algorithm: str) -> int:
    """The difficulty-1 target of `algorithm` ("sha256d" or "scrypt")."""
    try:
        return _DIFF1[algorithm]
    except KeyError:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {sorted(_DIFF1)}") from None


def target_for_difficulty(difficulty: float, algorithm: str) -> int:
    """floor(diff1 / difficulty), exact for fractional difficulties (the float's exact binary value).

    The result may exceed 2**256 - 1 for tiny difficulties (every hash then meets it);
    target_le_bytes clamps it.
    """
    if not math.isfinite(difficulty) or difficulty <= 0:
        raise ValueError(f"difficulty must be a positive finite number, got {difficulty!r}")
    d = Fraction(difficulty)
    return diff1_for(algorithm) * d.denominator // d.numerator


def target_le_bytes(target: int) -> bytes:
    """The target as 32 little-endian bytes (the layout meets_target_rows compares against).

    Targets above 2**256 - 1 are clamped to it: no 256-bit hash can tell the difference.
    """
    if target < 0:
        raise ValueError(f"a target cannot be negative, got {target}")
    return min(target, MAX_TARGET).to_bytes(32, "little")


def nbits_to_target(nbits: int) -> int:
    """Expand compact nBits: mantissa * 256**(exponent - 3) (Bitcoin's SetCompact; sign bit rejected)."""
    if not 0 <= nbits <= 0xFFFFFFFF:
        raise ValueError(f"nbits must be a uint32, got {nbits}")
    exponent = nbits >> 24
    mantissa = nbits & 0x007FFFFF
    if nbits & 0x00800000 and mantissa:
        raise ValueError(f"nbits {nbits:#010x} encodes a negative target")
    if exponent <= 3:
        target = mantissa >> (8 * (3 - exponent))
    else:
        target = mantissa << (8 * (exponent - 3))
    if target > MAX_TARGET:
        raise ValueError(f"nbits {nbits:#010x} overflows 256 bits")
    return target


def difficulty_from_nbits(nbits: int, algorithm: str) -> float:
    """Network difficulty diff1 / target for a block's nBits (rounded once, from the exact ratio)."""
    target = nbits_to_target(nbits)
    if target == 0:
        raise ValueError(f"nbits {nbits:#010x} encodes a zero target")
    return float(Fraction(diff1_for(algorithm), target))


def hash_difficulty(hash32: bytes, algorithm: str) -> float:
    """The difficulty a hash achieves: diff1 / hash read as a little-endian integer (inf for a zero hash)."""
    if len(hash32) != 32:
        raise ValueError(f"a hash is 32 bytes, got {len(hash32)}")
    value = int.from_bytes(hash32, "little")
    if value == 0:
        return math.inf
    return float(Fraction(diff1_for(algorithm), value))


@njit(cache=True, nogil=True)
def _le_leq(a, b):
    """a <= b for two uint8[32] little-endian 256-bit integers (most significant byte last)."""
    for k in range(31, -1, -1):
        if a[k] != b[k]:
            return a[k] < b[k]
    return True


@njit(cache=True, nogil=True)
def meets_into(hashes, targets, out):
    """out[i] = hashes[i] <= targets[i] as little-endian 256-bit integers, for every row."""
    for i in range(hashes.shape[0]):
        out[i] = _le_leq(hashes[i], targets[i])


def meets_target_rows(hashes: NDArray[np.uint8], targets_le: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """hash <= target per row, both uint8 (n, 32) little-endian 256-bit integers -> bool (n,)."""
    h = as_u8_matrix(hashes, "hashes", 32)
    t = as_u8_matrix(targets_le, "targets_le", 32)
    if h.shape[0] != t.shape[0]:
        raise ValueError(f"hashes and targets_le differ in rows: {h.shape[0]} != {t.shape[0]}")
    out = np.empty(h.shape[0], np.bool_)
    meets_into(h, t, out)
    return out
