"""Difficulty/target arithmetic against exact Fraction references and the public block vectors."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.targets import (
    DIFF1_SCRYPT,
    DIFF1_SHA256D,
    diff1_for,
    difficulty_from_nbits,
    hash_difficulty,
    meets_target_rows,
    nbits_to_target,
    target_for_difficulty,
    target_le_bytes,
)

VECTORS: dict[str, Any] = json.loads((Path(__file__).parents[2] / "vectors" / "pow.json").read_text())


def test_diff1_constants() -> None:
    assert DIFF1_SHA256D == int("00000000ffff" + "0" * 52, 16)
    assert DIFF1_SCRYPT == int("0000ffff" + "0" * 56, 16) == DIFF1_SHA256D * 65536
    assert diff1_for("sha256d") == DIFF1_SHA256D and diff1_for("scrypt") == DIFF1_SCRYPT
    with pytest.raises(ValueError, match="unknown algorithm"):
        diff1_for("ethash")


@pytest.mark.parametrize("algorithm", ["sha256d", "scrypt"])
def test_target_for_difficulty_examples(algorithm: str) -> None:
    diff1 = diff1_for(algorithm)
    assert target_for_difficulty(1, algorithm) == diff1
    assert target_for_difficulty(2.0, algorithm) == diff1 // 2
    assert target_for_difficulty(0.5, algorithm) == diff1 * 2
    # 0.001 is not exactly representable: the target follows the float's exact binary value
    assert target_for_difficulty(0.001, algorithm) == math.floor(diff1 / Fraction(0.001))
    assert target_for_difficulty(3.0, algorithm) == diff1 // 3


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_target_for_bad_difficulty_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        target_for_difficulty(bad, "sha256d")


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-12, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_target_is_exact_floor(d: float) -> None:
    for algorithm in ("sha256d", "scrypt"):
        t = target_for_difficulty(d, algorithm)
        exact = Fraction(diff1_for(algorithm)) / Fraction(d)
        assert t <= exact < t + 1


def test_target_le_bytes() -> None:
    assert target_le_bytes(DIFF1_SHA256D) == DIFF1_SHA256D.to_bytes(32, "little")
    assert target_le_bytes(0) == bytes(32)
    assert target_le_bytes(1 << 300) == b"\xff" * 32  # above 2**256-1: every hash meets it anyway
    with pytest.raises(ValueError, match="negative"):
        target_le_bytes(-1)


def test_nbits_to_target() -> None:
    assert nbits_to_target(0x1D00FFFF) == DIFF1_SHA256D
    assert nbits_to_target(0x1A44B9F2) == 0x44B9F2 << (8 * (0x1A - 3))
    ltc = VECTORS["scrypt_headers"][0]
    assert nbits_to_target(int(ltc["bits"], 16)) == int(ltc["target_from_bits"], 16)
    assert nbits_to_target(0x03123456) == 0x123456
    assert nbits_to_target(0x02123456) == 0x1234  # exponent < 3 shifts right (Bitcoin's SetCompact)
    assert nbits_to_target(0x01003456) == 0
    for bad in (0x04923456, -1, 1 << 32, 0x23000001):  # negative, out of uint32, > 256 bits
        with pytest.raises(ValueError):
            nbits_to_target(bad)


def test_difficulty_from_nbits() -> None:
    assert difficulty_from_nbits(0x1D00FFFF, "sha256d") == 1.0
    # Bitcoin wiki "Difficulty" worked example: 0x1b0404cb -> 16307.420938523983
    assert difficulty_from_nbits(0x1B0404CB, "sha256d") == pytest.approx(16307.420938523983, rel=1e-15)
    assert difficulty_from_nbits(0x1E0FFFF0, "scrypt") == pytest.approx(DIFF1_SCRYPT / (0x0FFFF0 << 216))
    with pytest.raises(ValueError, match="zero target"):
        difficulty_from_nbits(0x01003456, "sha256d")


def test_hash_difficulty() -> None:
    assert hash_difficulty(DIFF1_SHA256D.to_bytes(32, "little"), "sha256d") == 1.0
    assert hash_difficulty(DIFF1_SHA256D.to_bytes(32, "little"), "scrypt") == 65536.0
    assert hash_difficulty(bytes(32), "sha256d") == math.inf
    for vec in VECTORS["sha256d_headers"]:  # every real block beats its own network difficulty
        raw = bytes.fromhex(vec["sha256d_raw_hex"])
        bits = int(vec["fields"]["bits"], 16)
        assert hash_difficulty(raw, "sha256d") >= difficulty_from_nbits(bits, "sha256d")
    with pytest.raises(ValueError, match="32 bytes"):
        hash_difficulty(b"\x00", "sha256d")


def ref_meets(h: bytes, t: bytes) -> bool:
    return int.from_bytes(h, "little") <= int.from_bytes(t, "little")


def as_rows(items: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(items), np.uint8).reshape(len(items), 32)


def test_meets_target_rows_edges() -> None:
    t = DIFF1_SHA256D.to_bytes(32, "little")
    just_above = (DIFF1_SHA256D + 1).to_bytes(32, "little")
    just_below = (DIFF1_SHA256D - 1).to_bytes(32, "little")
    msb_only = (1 << 255).to_bytes(32, "little")
    lsb_diff = bytes([1]) + bytes(31)
    hashes = [t, just_above, just_below, msb_only, lsb_diff, bytes(32)]
    targets = [t, t, t, t, bytes(32), bytes(32)]
    got = meets_target_rows(as_rows(hashes), as_rows(targets))
    assert got.dtype == np.bool_
    assert got.tolist() == [True, False, True, False, False, True]


def test_meets_target_rows_random_against_ints() -> None:
    rng = np.random.default_rng(5)
    hashes = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    targets = hashes.copy()
    targets[:, 31] = rng.integers(0, 256, 5000)  # many ties in the top byte exercise the lower bytes
    targets[::3] = rng.integers(0, 256, (1667, 32), dtype=np.uint8)
    got = meets_target_rows(hashes, targets)
    assert got.tolist() == [ref_meets(h.tobytes(), t.tobytes()) for h, t in zip(hashes, targets, strict=True)]


def test_meets_target_rows_shape_errors() -> None:
    with pytest.raises(ValueError, match="differ in rows"):
        meets_target_rows(np.zeros((2, 32), np.uint8), np.zeros((3, 32), np.uint8))
    with pytest.raises(ValueError, match="32 columns"):
        meets_target_rows(np.zeros((2, 31), np.uint8), np.zeros((2, 31), np.uint8))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32)), max_size=30)
)
def test_meets_matches_int_comparison(pairs: list[tuple[bytes, bytes]]) -> None:
    hashes = [h for h, _ in pairs]
    targets = [t for _, t in pairs]
    got = meets_target_rows(as_rows(hashes), as_rows(targets)) if pairs else np.zeros(0, bool)
    assert got.tolist() == [ref_meets(h, t) for h, t in pairs]
