"""SHA256d kernels against the public header vectors and hashlib (the plain-Python reference)."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.sha256d import sha256d, sha256d_rows, sha256d_var

VECTORS: dict[str, Any] = json.loads((Path(__file__).parents[2] / "vectors" / "pow.json").read_text())
HEADERS = VECTORS["sha256d_headers"]


def ref_sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def pack(messages: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(messages) + 1, np.int64)
    offsets[1:] = np.cumsum([len(m) for m in messages])
    return np.frombuffer(b"".join(messages), np.uint8), offsets


@pytest.mark.parametrize("vec", HEADERS, ids=[v["name"] for v in HEADERS])
def test_header_vector(vec: dict[str, Any]) -> None:
    f = vec["fields"]
    header = (
        struct.pack("<I", f["version"])
        + bytes.fromhex(f["prev_block_display"])[::-1]
        + bytes.fromhex(f["merkle_root_display"])[::-1]
        + struct.pack("<III", f["time"], int(f["bits"], 16), f["nonce"])
    )
    assert header.hex() == vec["header_hex"]
    digest = sha256d(header)
    assert digest.hex() == vec["sha256d_raw_hex"]
    assert digest[::-1].hex() == vec["hash_display"]


def test_header_vectors_as_rows_and_var() -> None:
    headers = [bytes.fromhex(v["header_hex"]) for v in HEADERS]
    want = [v["sha256d_raw_hex"] for v in HEADERS]
    rows = np.frombuffer(b"".join(headers), np.uint8).reshape(len(headers), 80)
    assert [bytes(r).hex() for r in sha256d_rows(rows)] == want
    assert [bytes(r).hex() for r in sha256d_var(*pack(headers))] == want


def test_every_length_0_to_300_against_hashlib() -> None:
    rng = random.Random(125552)
    messages = [rng.randbytes(n) for n in range(301) for _ in range(3)]
    got = sha256d_var(*pack(messages))
    assert [bytes(g) for g in got] == [ref_sha256d(m) for m in messages]


@pytest.mark.parametrize("width", [0, 1, 32, 55, 56, 63, 64, 65, 80, 119, 120, 127, 128, 300])
def test_rows_at_padding_boundaries(width: int) -> None:
    rows = np.random.default_rng(width).integers(0, 256, (17, width), dtype=np.uint8)
    got = sha256d_rows(rows)
    assert got.shape == (17, 32) and got.dtype == np.uint8
    assert [bytes(g) for g in got] == [ref_sha256d(r.tobytes()) for r in rows]


def test_parallel_matches_serial() -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 256, (1000, 80), dtype=np.uint8)
    assert np.array_equal(sha256d_rows(rows, parallel=True), sha256d_rows(rows))
    messages = [rng.bytes(int(n)) for n in rng.integers(0, 300, 700)]
    flat, off = pack(messages)
    assert np.array_equal(sha256d_var(flat, off, parallel=True), sha256d_var(flat, off))


def test_non_contiguous_rows_and_offsets_not_starting_at_zero() -> None:
    big = np.random.default_rng(3).integers(0, 256, (6, 160), dtype=np.uint8)
    view = big[::2, ::2]  # strided view: the wrapper must copy it to C order, not misread it
    assert [bytes(g) for g in sha256d_rows(view)] == [ref_sha256d(r.tobytes()) for r in view]
    flat = np.frombuffer(b"xxabcdefyy", np.uint8)
    got = sha256d_var(flat, np.array([2, 5, 8]))
    assert [bytes(g) for g in got] == [ref_sha256d(b"abc"), ref_sha256d(b"def")]


def test_empty_batches() -> None:
    assert sha256d_rows(np.zeros((0, 80), np.uint8)).shape == (0, 32)
    assert sha256d_var(np.zeros(0, np.uint8), np.zeros(1, np.int64)).shape == (0, 32)
    assert sha256d(b"") == ref_sha256d(b"")


@pytest.mark.parametrize(
    ("flat", "offsets"),
    [
        (np.zeros(4, np.uint8), np.array([0, 5])),  # past the end
        (np.zeros(4, np.uint8), np.array([3, 1])),  # decreasing
        (np.zeros(4, np.uint8), np.array([], np.int64)),  # no n+1 entries
        (np.zeros(4, np.int32), np.array([0, 4])),  # wrong dtype
    ],
)
def test_bad_variable_batches_raise(flat: np.ndarray, offsets: np.ndarray) -> None:
    with pytest.raises(ValueError):
        sha256d_var(flat, offsets)


def test_bad_rows_raise() -> None:
    with pytest.raises(ValueError, match="2-D uint8"):
        sha256d_rows(np.zeros(80, np.uint8))
    with pytest.raises(ValueError, match="2-D uint8"):
        sha256d_rows(np.zeros((2, 80), np.int64))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_var_matches_hashlib(messages: list[bytes]) -> None:
    got = sha256d_var(*pack(messages))
    assert [bytes(g) for g in got] == [ref_sha256d(m) for m in messages]
