"""Stratum fields -> merkle root -> header -> PoW hash, against pow.json, real blocks and a hashlib reference."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kernels.sha256d import sha256d_rows
from kernels.stratum_header import assemble_headers, merkle_root_rows, verify_submits
from kernels.targets import meets_target_rows, nbits_to_target, target_le_bytes

VECTORS: dict[str, Any] = json.loads((Path(__file__).parents[2] / "vectors" / "pow.json").read_text())
STRATUM = VECTORS["stratum_encoding"][0]

# Bitcoin genesis coinbase transaction (not in pow.json; self-checking: its SHA256d must be the genesis
# merkle root of pow.json, and the header built from it must hash to the genesis block hash).
GENESIS_COINBASE = bytes.fromhex(
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104"
    "455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365"
    "636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1"
    "a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b"
    "6bf11d5fac00000000"
)


def dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def wordswap(b: bytes) -> bytes:
    return b"".join(b[i : i + 4][::-1] for i in range(0, 32, 4))


def ref_header(version: int, prevhash: bytes, root: bytes, ntime: int, nbits: int, nonce: int) -> bytes:
    """DOMAIN.md: rev4(version) || wordswap32(prevhash) || merkle_root || rev4(ntime) || rev4(nbits) || rev4(nonce)."""
    return struct.pack("<I", version) + wordswap(prevhash) + root + struct.pack("<III", ntime, nbits, nonce)


def ref_root(coinbase: bytes, branches: list[bytes]) -> bytes:
    root = dsha(coinbase)
    for b in branches:
        root = dsha(root + b)
    return root


def u32(*values: int) -> np.ndarray:
    return np.array(values, np.uint32)


def row(b: bytes) -> np.ndarray:
    return np.frombuffer(b, np.uint8).reshape(1, len(b))


def test_block_125552_from_stratum_fields() -> None:
    # No branch: the fold returns its input, so the known root stands in for the coinbase hash.
    root = merkle_root_rows(
        row(bytes.fromhex(STRATUM["merkle_root_raw"])), np.zeros((1, 0, 32), np.uint8), u32(0)
    )
    headers = assemble_headers(
        u32(int(STRATUM["version"], 16)), row(bytes.fromhex(STRATUM["stratum_prevhash"])), root,
        u32(int(STRATUM["ntime"], 16)), u32(int(STRATUM["nbits"], 16)), u32(int(STRATUM["submit_nonce"], 16)),
    )  # fmt: skip
    assert headers[0].tobytes().hex() == STRATUM["header_hex"]
    hashes = sha256d_rows(headers)
    assert hashes[0].tobytes()[::-1].hex() == STRATUM["hash_display"]
    target = nbits_to_target(int(STRATUM["nbits"], 16))
    assert meets_target_rows(hashes, row(target_le_bytes(target))).tolist() == [True]
    assert not meets_target_rows(hashes, row(target_le_bytes(int.from_bytes(hashes[0], "little") - 1)))[0]


def test_block_170_one_branch_merkle() -> None:
    # Block 170 (first block with a non-coinbase transaction; not in pow.json). Its two txids fold to its
    # merkle root and the header hashes to the block hash: the values check each other.
    cb_txid = bytes.fromhex("b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082")[::-1]
    branch = bytes.fromhex("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")[::-1]
    root = merkle_root_rows(row(cb_txid), row(branch).reshape(1, 1, 32), u32(1))
    assert root[0].tobytes()[::-1].hex() == "7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff"
    prev_raw = bytes.fromhex("000000002a22cfee1f2c846adbd12b3e183d4f97683f85dad08a79780a84bd55")[::-1]
    headers = assemble_headers(
        u32(1), row(wordswap(prev_raw)), root, u32(1231731025), u32(0x1D00FFFF), u32(1889418792)
    )
    hashes = sha256d_rows(headers)
    assert (
        hashes[0].tobytes()[::-1].hex() == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    )


@pytest.mark.parametrize("parallel", [False, True])
def test_genesis_end_to_end_through_verify_submits(parallel: bool) -> None:
    vec = VECTORS["sha256d_headers"][1]
    assert dsha(GENESIS_COINBASE)[::-1].hex() == vec["fields"]["merkle_root_display"]
    # The gateway's coinbase is coinb1 || extranonce1 || extranonce2 || coinb2; any split concatenates the same.
    coinb1, en1, en2, coinb2 = (
        GENESIS_COINBASE[:60],
        GENESIS_COINBASE[60:64],
        GENESIS_COINBASE[64:72],
        GENESIS_COINBASE[72:],
    )
    flat = np.frombuffer(coinb1 + en1 + en2 + coinb2, np.uint8)
    f = vec["fields"]
    headers, hashes = verify_submits(
        flat, np.array([0, flat.size], np.int64), np.zeros((1, 0, 32), np.uint8), u32(0),
        u32(f["version"]), np.zeros((1, 32), np.uint8), u32(f["time"]), u32(int(f["bits"], 16)), u32(f["nonce"]),
        parallel=parallel,
    )  # fmt: skip
    assert headers[0].tobytes().hex() == vec["header_hex"]
    assert hashes[0].tobytes().hex() == vec["sha256d_raw_hex"]


def random_batch(n: int, seed: int, kmax: int = 12) -> dict[str, Any]:
    rng = random.Random(seed)
    coinbases = [rng.randbytes(rng.randrange(0, 300)) for _ in range(n)]
    branch_lists = [[rng.randbytes(32) for _ in range(rng.randrange(0, kmax + 1))] for _ in range(n)]
    branches = np.zeros((n, kmax, 32), np.uint8)
    for i, bl in enumerate(branch_lists):
        for k, b in enumerate(bl):
            branches[i, k] = np.frombuffer(b, np.uint8)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(c) for c in coinbases])
    fields = {
        name: [rng.getrandbits(32) for _ in range(n)] for name in ("version", "ntime", "nbits", "nonce")
    }
    prevhashes = [rng.randbytes(32) for _ in range(n)]
    roots = [ref_root(c, bl) for c, bl in zip(coinbases, branch_lists, strict=True)]
    ref_headers = [
        ref_header(fields["version"][i], prevhashes[i], roots[i], fields["ntime"][i], fields["nbits"][i], fields["nonce"][i])
        for i in range(n)
    ]  # fmt: skip
    return {
        "args": (
            np.frombuffer(b"".join(coinbases), np.uint8),
            offsets,
            branches,
            np.array([len(bl) for bl in branch_lists], np.int64),
            np.array(fields["version"], np.uint32),
            np.frombuffer(b"".join(prevhashes), np.uint8).reshape(n, 32),
            np.array(fields["ntime"], np.uint32),
            np.array(fields["nbits"], np.uint32),
            np.array(fields["nonce"], np.uint32),
        ),  # fmt: skip
        "coinbases": coinbases,
        "roots": roots,
        "headers": ref_headers,
    }


def test_merkle_and_assemble_against_reference() -> None:
    batch = random_batch(300, seed=1)
    flat, offsets, branches, counts, versions, prevhashes, ntimes, nbits, nonces = batch["args"]
    cb_hashes = np.frombuffer(b"".join(dsha(c) for c in batch["coinbases"]), np.uint8).reshape(-1, 32)
    roots = merkle_root_rows(cb_hashes, branches, counts)
    assert [bytes(r) for r in roots] == batch["roots"]
    headers = assemble_headers(versions, prevhashes, roots, ntimes, nbits, nonces)
    assert [bytes(h) for h in headers] == batch["headers"]


@pytest.mark.parametrize("parallel", [False, True])
def test_verify_submits_sha256d_against_reference(parallel: bool) -> None:
    batch = random_batch(600, seed=2)
    headers, hashes = verify_submits(*batch["args"], parallel=parallel)
    assert [bytes(h) for h in headers] == batch["headers"]
    assert [bytes(h) for h in hashes] == [dsha(h) for h in batch["headers"]]


@pytest.mark.parametrize("parallel", [False, True])
def test_verify_submits_scrypt_against_reference(parallel: bool) -> None:
    batch = random_batch(20, seed=3)
    headers, hashes = verify_submits(*batch["args"], algorithm="scrypt", parallel=parallel)
    assert [bytes(h) for h in headers] == batch["headers"]
    want = [hashlib.scrypt(h, salt=h, n=1024, r=1, p=1, dklen=32) for h in batch["headers"]]
    assert [bytes(h) for h in hashes] == want


def test_empty_batch() -> None:
    headers, hashes = verify_submits(
        np.zeros(0, np.uint8), np.zeros(1, np.int64), np.zeros((0, 0, 32), np.uint8), u32(), u32(),
        np.zeros((0, 32), np.uint8), u32(), u32(), u32(),
    )  # fmt: skip
    assert headers.shape == (0, 80) and hashes.shape == (0, 32)


def test_bad_inputs_raise() -> None:
    args = list(random_batch(4, seed=4, kmax=2)["args"])
    with pytest.raises(ValueError, match="unknown algorithm"):
        verify_submits(*args, algorithm="x11")
    too_many = args.copy()
    too_many[3] = np.array([0, 3, 0, 0])
    with pytest.raises(ValueError, match="exceed"):
        verify_submits(*too_many)
    short = args.copy()
    short[8] = u32(1, 2)
    with pytest.raises(ValueError, match="nonces"):
        verify_submits(*short)
    negative = args.copy()
    negative[4] = np.array([-1, 0, 0, 0])
    with pytest.raises(ValueError, match="uint32"):
        verify_submits(*negative)
    with pytest.raises(ValueError, match="prevhashes"):
        assemble_headers(
            u32(1), np.zeros((1, 31), np.uint8), np.zeros((1, 32), np.uint8), u32(1), u32(1), u32(1)
        )
    with pytest.raises(ValueError, match="branches"):
        merkle_root_rows(np.zeros((1, 32), np.uint8), np.zeros((1, 2, 31), np.uint8), u32(0))
