"""Stratum V1 share verification in numba: coinbase -> merkle root -> 80-byte header -> PoW hash, in batches.

Field encodings follow DOMAIN.md: version/ntime/nbits/nonce are the integers of Stratum's big-endian hex
(the header holds them little-endian); prevhash is the notify field with each 4-byte word byte-reversed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from kernels.scrypt import scrypt_into
from kernels.sha256d import (
    H0,
    PAD64_KW,
    PARALLEL_CHUNK,
    as_u8_matrix,
    check_offsets,
    compress,
    compress_kw,
    load_be_words,
    rehash_digest,
    sha256d_into,
    store_be_words,
    writable,
)

# mypy: allow-untyped-defs, allow-untyped-calls, allow-untyped-decorators

U8 = NDArray[np.uint8]
ALGORITHMS = ("sha256d", "scrypt")


@njit(cache=True, nogil=True)
def merkle_fold(state, w, branches, count):
    """state (coinbase SHA256d words) <- fold of sha256d(root || branch) over branches[0:count] (uint8 (k, 32))."""
    for k in range(count):
        for j in range(8):
            w[j] = state[j]
            state[j] = H0[j]
        load_be_words(branches[k], 0, w, 8, 8)
        compress(state, w)
        compress_kw(state, PAD64_KW)
        rehash_digest(state, w)


@njit(cache=True, nogil=True)
def _put_le32(dst, start, x):
    dst[start] = np.uint8(x & 0xFF)
    dst[start + 1] = np.uint8((x >> 8) & 0xFF)
    dst[start + 2] = np.uint8((x >> 16) & 0xFF)
    dst[start + 3] = np.uint8((x >> 24) & 0xFF)


@njit(cache=True, nogil=True)
def assemble_into(hdr, version, prevhash, ntime, nbits, nonce):
    """Fill an 80-byte header except the merkle root (hdr[36:68]), which the caller writes."""
    _put_le32(hdr, 0, version)
    for j in range(8):
        for b in range(4):
            hdr[4 + 4 * j + b] = prevhash[4 * j + 3 - b]
    _put_le32(hdr, 68, ntime)
    _put_le32(hdr, 72, nbits)
    _put_le32(hdr, 76, nonce)


@njit(cache=True, nogil=True)
def _merkle_rows(coinbase_hashes, branches, counts, out):
    state = np.empty(8, np.uint32)
    w = np.empty(64, np.uint32)
    for i in range(out.shape[0]):
        load_be_words(coinbase_hashes[i], 0, state, 0, 8)
        merkle_fold(state, w, branches[i], counts[i])
        store_be_words(state, out[i], 0)


@njit(cache=True, nogil=True)
def _assemble_rows(versions, prevhashes, roots, ntimes, nbits, nonces, out):
    for i in range(out.shape[0]):
        assemble_into(out[i], versions[i], prevhashes[i], ntimes[i], nbits[i], nonces[i])
        for j in range(32):
            out[i, 36 + j] = roots[i, j]


@njit(cache=True, nogil=True)
def _verify_range(
    cb_flat, cb_off, branches, counts, versions, prevhashes, ntimes, nbits, nonces, use_scrypt, headers, hashes,
    lo, hi,
):  # fmt: skip
    state = np.empty(8, np.uint32)
    w = np.empty(64, np.uint32)
    v = np.empty((1024 if use_scrypt else 1, 32), np.uint32)
    for i in range(lo, hi):
        hdr = headers[i]
        sha256d_into(state, w, cb_flat, cb_off[i], cb_off[i + 1])
        merkle_fold(state, w, branches[i], counts[i])
        store_be_words(state, hdr, 36)
        assemble_into(hdr, versions[i], prevhashes[i], ntimes[i], nbits[i], nonces[i])
        if use_scrypt:
            scrypt_into(hdr, hdr, 1024, 1, 1, hashes[i], v)
        else:
            sha256d_into(state, w, hdr, 0, 80)
            store_be_words(state, hashes[i], 0)


@njit(cache=True, nogil=True)
def _verify_serial(
    cb_flat, cb_off, branches, counts, versions, prevhashes, ntimes, nbits, nonces, use_scrypt, headers, hashes
):  # fmt: skip
    _verify_range(
        cb_flat, cb_off, branches, counts, versions, prevhashes, ntimes, nbits, nonces, use_scrypt, headers, hashes,
        0, headers.shape[0],
    )  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def _verify_parallel(
    cb_flat, cb_off, branches, counts, versions, prevhashes, ntimes, nbits, nonces, use_scrypt, headers, hashes,
    chunk,
):  # fmt: skip
    n = headers.shape[0]
    for c in prange((n + chunk - 1) // chunk):
        _verify_range(
            cb_flat, cb_off, branches, counts, versions, prevhashes, ntimes, nbits, nonces, use_scrypt, headers,
            hashes, c * chunk, min(n, (c + 1) * chunk),
        )  # fmt: skip


def _u32_column(a: NDArray[np.generic], name: str, n: int) -> NDArray[np.uint32]:
    if a.ndim != 1 or a.shape[0] != n or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D integer array of {n} entries, got {a.dtype} {a.shape}")
    if a.dtype != np.uint32 and a.size and (int(a.min()) < 0 or int(a.max()) > 0xFFFFFFFF):
        raise ValueError(f"{name} values must fit in uint32")
    return writable(a, np.uint32)


def _branch_arrays(
    branches: NDArray[np.generic], branch_counts: NDArray[np.generic], n: int
) -> tuple[U8, NDArray[np.uint32]]:
    if branches.dtype != np.uint8 or branches.ndim != 3 or branches.shape[0] != n or branches.shape[2] != 32:
        raise ValueError(f"branches must be uint8 (n={n}, kmax, 32), got {branches.dtype} {branches.shape}")
    counts = _u32_column(branch_counts, "branch_counts", n)
    if counts.size and int(counts.max()) > branches.shape[1]:
        raise ValueError(f"branch_counts exceed the {branches.shape[1]} branch slots given")
    return writable(branches, np.uint8), counts


def merkle_root_rows(
    coinbase_hashes: NDArray[np.uint8], branches: NDArray[np.uint8], branch_counts: NDArray[np.integer]
) -> U8:
    """Merkle roots from coinbase SHA256d digests and mining.notify branches.

    coinbase_hashes uint8 (n, 32) raw digests; branches uint8 (n, kmax, 32), each row's first
    branch_counts[i] entries being bytes.fromhex(branch) in notify order. root = cb; root = sha256d(root || b)
    for each branch -> uint8 (n, 32) raw roots (the bytes that go into the header as they are).
    """
    cb = as_u8_matrix(coinbase_hashes, "coinbase_hashes", 32)
    br, counts = _branch_arrays(branches, branch_counts, cb.shape[0])
    out = np.empty((cb.shape[0], 32), np.uint8)
    _merkle_rows(cb, br, counts, out)
    return out


def assemble_headers(
    versions: NDArray[np.integer],
    prevhashes: NDArray[np.uint8],
    merkle_roots: NDArray[np.uint8],
    ntimes: NDArray[np.integer],
    nbits: NDArray[np.integer],
    nonces: NDArray[np.integer],
) -> U8:
    """80-byte headers: rev4(version) || wordswap32(prevhash) || merkle_root || rev4(ntime) || rev4(nbits) || rev4(nonce).

    versions/ntimes/nbits/nonces: (n,) integers as given in Stratum big-endian hex (int(field, 16));
    prevhashes: uint8 (n, 32) = bytes.fromhex(notify prevhash); merkle_roots: uint8 (n, 32) raw roots.
    """
    ph = as_u8_matrix(prevhashes, "prevhashes", 32)
    n = ph.shape[0]
    roots = as_u8_matrix(merkle_roots, "merkle_roots", 32)
    if roots.shape[0] != n:
        raise ValueError(f"merkle_roots has {roots.shape[0]} rows, prevhashes {n}")
    out = np.empty((n, 80), np.uint8)
    _assemble_rows(
        _u32_column(versions, "versions", n), ph, roots, _u32_column(ntimes, "ntimes", n),
        _u32_column(nbits, "nbits", n), _u32_column(nonces, "nonces", n), out,
    )  # fmt: skip
    return out


def verify_submits(
    coinbases: NDArray[np.uint8],
    coinbase_offsets: NDArray[np.int64],
    branches: NDArray[np.uint8],
    branch_counts: NDArray[np.integer],
    versions: NDArray[np.integer],
    prevhashes: NDArray[np.uint8],
    ntimes: NDArray[np.integer],
    nbits: NDArray[np.integer],
    nonces: NDArray[np.integer],
    *,
    algorithm: str = "sha256d",
    parallel: bool = False,
) -> tuple[U8, U8]:
    """Rebuild and hash a batch of n mining.submit shares -> (headers uint8 (n, 80), hashes uint8 (n, 32)).

    coinbases: 1-D uint8, all coinbase transactions back to back (coinb1 || extranonce1 || extranonce2
        || coinb2 of each share); coinbase_offsets: int64 (n+1,), share i's coinbase is
        coinbases[offsets[i]:offsets[i+1]].
    branches, branch_counts: as merkle_root_rows (per share; index a per-job table with job ids to get them).
    versions, prevhashes, ntimes, nbits, nonces: as assemble_headers (ntime and nonce from the submit,
        version after any version rolling, prevhash and nbits from the job).
    algorithm: "sha256d" or "scrypt" picks the header PoW hash; coinbase and merkle always use SHA256d.
    parallel: spread the batch over numba's thread pool (OpenMP in the PyPI wheel: do not fork afterwards).

    Hashes are raw digests: compare them with kernels.targets.meets_target_rows (little-endian integers).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {list(ALGORITHMS)}")
    flat, off = check_offsets(coinbases, coinbase_offsets)
    n = off.shape[0] - 1
    br, counts = _branch_arrays(branches, branch_counts, n)
    ph = as_u8_matrix(prevhashes, "prevhashes", 32)
    if ph.shape[0] != n:
        raise ValueError(f"prevhashes has {ph.shape[0]} rows, coinbase_offsets describe {n} shares")
    args = (
        flat, off, br, counts, _u32_column(versions, "versions", n), ph, _u32_column(ntimes, "ntimes", n),
        _u32_column(nbits, "nbits", n), _u32_column(nonces, "nonces", n), algorithm == "scrypt",
    )  # fmt: skip
    headers = np.empty((n, 80), np.uint8)
    hashes = np.empty((n, 32), np.uint8)
    if parallel:
        chunk = 16 if algorithm == "scrypt" else PARALLEL_CHUNK
        _verify_parallel(*args, headers, hashes, chunk)
    else:
        _verify_serial(*args, headers, hashes)
    return headers, hashes
