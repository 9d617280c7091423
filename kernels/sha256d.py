"""SHA-256 and SHA256d (double SHA-256) in numba: the hash behind Bitcoin headers, coinbases and merkle trees.

The `@njit` building blocks (compress, sha256_into, ...) are shared with `kernels.scrypt` and
`kernels.stratum_header`; the typed wrappers at the bottom are the public API.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

# The numba internals are untyped on purpose (numba compiles from the Python source, mypy cannot follow
# it); every public entry point is a typed wrapper that checks shapes and dtypes first.
# mypy: allow-untyped-defs, allow-untyped-calls, allow-untyped-decorators

U8 = NDArray[np.uint8]

K = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
        0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
        0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
        0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
        0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
        0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
        0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
H0 = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)


def _pad_block_kw(total_len: int) -> NDArray[np.uint32]:
    """K[i] + W[i] for the block that is pure padding after a `total_len`-byte message (total_len % 64 == 0).

    Such a block is the same for every message of that length, so its whole schedule is precomputed once.
    """
    mask = 0xFFFFFFFF
    w = [0x80000000] + [0] * 13 + [(total_len * 8) >> 32, (total_len * 8) & mask]
    for i in range(16, 64):
        x, y = w[i - 15], w[i - 2]
        s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)
        s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & mask)
    return np.array([(int(k) + x) & mask for k, x in zip(K, w, strict=True)], dtype=np.uint32)


PAD64_KW = _pad_block_kw(64)  # padding block of every 64-byte message (merkle node = sha256(left || right))

# Arithmetic note: numba promotes uint32 op uint32 to uint64. Left shifts and sums therefore carry junk
# above bit 31; that is harmless as long as every value is truncated with np.uint32(...) before it is
# shifted right or compared. Each a..h / w[i] below is truncated on assignment.


@njit(cache=True, nogil=True)
def _round(a, b, c, d, e, f, g, h, kw):
    """One SHA-256 round with kw = K[i] + W[i]; returns the new (d, h): the caller renames the rest."""
    s1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
    ch = g ^ (e & (f ^ g))
    t1 = h + s1 + ch + kw
    s0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
    maj = (a & b) | (c & (a | b))
    return np.uint32(d + t1), np.uint32(t1 + s0 + maj)


@njit(cache=True, nogil=True)
def _sched(w, i):
    """K[i] + W[i] for i >= 16, extending the message schedule into w[i] on the fly."""
    x = w[i - 15]
    y = w[i - 2]
    s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)
    s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)
    w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    return K[i] + w[i]


@njit(cache=True, nogil=True)
def _add_state(state, a, b, c, d, e, f, g, h):
    state[0] = np.uint32(state[0] + a)
    state[1] = np.uint32(state[1] + b)
    state[2] = np.uint32(state[2] + c)
    state[3] = np.uint32(state[3] + d)
    state[4] = np.uint32(state[4] + e)
    state[5] = np.uint32(state[5] + f)
    state[6] = np.uint32(state[6] + g)
    state[7] = np.uint32(state[7] + h)


# Both compressions run eight rounds per iteration with the roles of a..h rotated by hand (no register
# shuffling between rounds), and `compress` extends the schedule inside rounds 16..63 so the CPU overlaps
# the two dependency chains: 172 ns per block against 235 ns for a one-round loop after a separate
# schedule loop (best of 8 runs, 1M blocks, this 2-vCPU Xeon).


@njit(cache=True, nogil=True)
def compress(state, w):
    """One SHA-256 compression of `state` (uint32[8], updated in place) with the block in w[0:16].

    w is uint32[64]; w[16:64] is overwritten with the message schedule.
    """
    a, b, c, d = state[0], state[1], state[2], state[3]
    e, f, g, h = state[4], state[5], state[6], state[7]
    for i in range(0, 16, 8):
        d, h = _round(a, b, c, d, e, f, g, h, K[i] + w[i])
        c, g = _round(h, a, b, c, d, e, f, g, K[i + 1] + w[i + 1])
        b, f = _round(g, h, a, b, c, d, e, f, K[i + 2] + w[i + 2])
        a, e = _round(f, g, h, a, b, c, d, e, K[i + 3] + w[i + 3])
        h, d = _round(e, f, g, h, a, b, c, d, K[i + 4] + w[i + 4])
        g, c = _round(d, e, f, g, h, a, b, c, K[i + 5] + w[i + 5])
        f, b = _round(c, d, e, f, g, h, a, b, K[i + 6] + w[i + 6])
        e, a = _round(b, c, d, e, f, g, h, a, K[i + 7] + w[i + 7])
    for i in range(16, 64, 8):
        d, h = _round(a, b, c, d, e, f, g, h, _sched(w, i))
        c, g = _round(h, a, b, c, d, e, f, g, _sched(w, i + 1))
        b, f = _round(g, h, a, b, c, d, e, f, _sched(w, i + 2))
        a, e = _round(f, g, h, a, b, c, d, e, _sched(w, i + 3))
        h, d = _round(e, f, g, h, a, b, c, d, _sched(w, i + 4))
        g, c = _round(d, e, f, g, h, a, b, c, _sched(w, i + 5))
        f, b = _round(c, d, e, f, g, h, a, b, _sched(w, i + 6))
        e, a = _round(b, c, d, e, f, g, h, a, _sched(w, i + 7))
    _add_state(state, a, b, c, d, e, f, g, h)


@njit(cache=True, nogil=True)
def compress_kw(state, kw):
    """Compression with a precomputed K+W schedule (constant padding blocks such as PAD64_KW)."""
    a, b, c, d = state[0], state[1], state[2], state[3]
    e, f, g, h = state[4], state[5], state[6], state[7]
    for i in range(0, 64, 8):
        d, h = _round(a, b, c, d, e, f, g, h, kw[i])
        c, g = _round(h, a, b, c, d, e, f, g, kw[i + 1])
        b, f = _round(g, h, a, b, c, d, e, f, kw[i + 2])
        a, e = _round(f, g, h, a, b, c, d, e, kw[i + 3])
        h, d = _round(e, f, g, h, a, b, c, d, kw[i + 4])
        g, c = _round(d, e, f, g, h, a, b, c, kw[i + 5])
        f, b = _round(c, d, e, f, g, h, a, b, kw[i + 6])
        e, a = _round(b, c, d, e, f, g, h, a, kw[i + 7])
    _add_state(state, a, b, c, d, e, f, g, h)


@njit(cache=True, nogil=True)
def load_be_words(src, start, w, wstart, count):
    """w[wstart:wstart+count] = big-endian uint32 words of src[start:start+4*count] (uint8)."""
    for j in range(count):
        p = start + 4 * j
        w[wstart + j] = (
            (np.uint32(src[p]) << 24)
            | (np.uint32(src[p + 1]) << 16)
            | (np.uint32(src[p + 2]) << 8)
            | np.uint32(src[p + 3])
        )


@njit(cache=True, nogil=True)
def store_be_words(state, dst, start):
    """dst[start:start+32] = the 8 state words as big-endian bytes (the SHA-256 digest)."""
    for j in range(8):
        x = state[j]
        dst[start + 4 * j] = np.uint8((x >> 24) & 0xFF)
        dst[start + 4 * j + 1] = np.uint8((x >> 16) & 0xFF)
        dst[start + 4 * j + 2] = np.uint8((x >> 8) & 0xFF)
        dst[start + 4 * j + 3] = np.uint8(x & 0xFF)


@njit(cache=True, nogil=True)
def sha256_into(state, w, data, start, end, prefix_len):
    """Finish SHA-256 over data[start:end], continuing from `state` after `prefix_len` bytes.

    prefix_len must be a multiple of 64 (0 with state = H0 for a fresh hash; 64 for an HMAC midstate).
    On return `state` holds the digest words.
    """
    length = end - start
    p = start
    while end - p >= 64:
        load_be_words(data, p, w, 0, 16)
        compress(state, w)
        p += 64
    rem = end - p
    for j in range(16):
        w[j] = 0
    for j in range(rem):
        w[j >> 2] |= np.uint32(data[p + j]) << (24 - 8 * (j & 3))
    w[rem >> 2] |= np.uint32(0x80) << (24 - 8 * (rem & 3))
    if rem >= 56:
        compress(state, w)
        for j in range(16):
            w[j] = 0
    bits = np.uint64(prefix_len + length) * np.uint64(8)
    w[14] = np.uint32(bits >> np.uint64(32))
    w[15] = np.uint32(bits & np.uint64(0xFFFFFFFF))
    compress(state, w)


@njit(cache=True, nogil=True)
def rehash_digest(state, w):
    """state = sha256(digest bytes of state): the second half of SHA256d, done on words."""
    for j in range(8):
        w[j] = state[j]
        state[j] = H0[j]
    w[8] = 0x80000000
    for j in range(9, 15):
        w[j] = 0
    w[15] = 256
    compress(state, w)


@njit(cache=True, nogil=True)
def sha256d_into(state, w, data, start, end):
    """state = SHA256d(data[start:end]) as 8 words (digest bytes are their big-endian form)."""
    for j in range(8):
        state[j] = H0[j]
    sha256_into(state, w, data, start, end, 0)
    rehash_digest(state, w)


@njit(cache=True, nogil=True)
def _rows_range(rows, out, lo, hi):
    state = np.empty(8, np.uint32)
    w = np.empty(64, np.uint32)
    width = rows.shape[1]
    for i in range(lo, hi):
        sha256d_into(state, w, rows[i], 0, width)
        store_be_words(state, out[i], 0)


@njit(cache=True, nogil=True)
def _var_range(flat, offsets, out, lo, hi):
    state = np.empty(8, np.uint32)
    w = np.empty(64, np.uint32)
    for i in range(lo, hi):
        sha256d_into(state, w, flat, offsets[i], offsets[i + 1])
        store_be_words(state, out[i], 0)


@njit(cache=True, nogil=True)
def _rows_serial(rows, out):
    _rows_range(rows, out, 0, rows.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def _rows_parallel(rows, out, chunk):
    n = rows.shape[0]
    for c in prange((n + chunk - 1) // chunk):
        _rows_range(rows, out, c * chunk, min(n, (c + 1) * chunk))


@njit(cache=True, nogil=True)
def _var_serial(flat, offsets, out):
    _var_range(flat, offsets, out, 0, out.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def _var_parallel(flat, offsets, out, chunk):
    n = out.shape[0]
    for c in prange((n + chunk - 1) // chunk):
        _var_range(flat, offsets, out, c * chunk, min(n, (c + 1) * chunk))


PARALLEL_CHUNK = 256  # rows per prange task: big enough to amortise scratch allocation and scheduling


def writable(a: NDArray[np.generic], dtype: type[np.generic]) -> NDArray[Any]:
    """`a` as a C-contiguous, writable array of `dtype`, copied only when it is not one already.

    numba compiles a separate kernel for read-only arrays (np.frombuffer of bytes): normalising here keeps
    one compiled variant per kernel, which is most of the cold-start time. The copy is small next to hashing.
    """
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a  # as np.require would, without its ~2 µs a call (the Stratum gateway hashes small batches)
    return np.require(a, dtype=dtype, requirements=["C", "W"])


def as_u8_matrix(a: NDArray[np.generic], name: str, width: int | None = None) -> U8:
    """Check `a` is a 2-D uint8 array (of `width` columns if given) and return it C-contiguous, writable."""
    if a.dtype != np.uint8 or a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D uint8 array, got {a.dtype} with shape {a.shape}")
    if width is not None and a.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns, got shape {a.shape}")
    return writable(a, np.uint8)


def check_offsets(flat: NDArray[np.generic], offsets: NDArray[np.generic]) -> tuple[U8, NDArray[np.int64]]:
    """Validate a variable-length batch (flat uint8 bytes, int64 offsets of n+1 non-decreasing entries)."""
    if flat.dtype != np.uint8 or flat.ndim != 1:
        raise ValueError(f"flat must be a 1-D uint8 array, got {flat.dtype} with shape {flat.shape}")
    if offsets.ndim != 1 or offsets.shape[0] < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"offsets must be a 1-D integer array of n+1 entries, got shape {offsets.shape}")
    off = writable(offsets, np.int64)
    if off[0] < 0 or off[-1] > flat.shape[0] or np.any(np.diff(off) < 0):
        raise ValueError("offsets must be non-decreasing and lie within flat")
    return writable(flat, np.uint8), off


def sha256d_rows(rows: NDArray[np.uint8], *, parallel: bool = False) -> U8:
    """SHA256d of each row: uint8 (n, L) -> uint8 (n, 32) raw digests (internal byte order).

    parallel=True splits the rows over numba's thread pool (see bench/pow.py for when that pays).
    """
    r = as_u8_matrix(rows, "rows")
    out = np.empty((r.shape[0], 32), np.uint8)
    if parallel:
        _rows_parallel(r, out, PARALLEL_CHUNK)
    else:
        _rows_serial(r, out)
    return out


def sha256d_var(flat: NDArray[np.uint8], offsets: NDArray[np.int64], *, parallel: bool = False) -> U8:
    """SHA256d of variable-length messages flat[offsets[i]:offsets[i+1]] -> uint8 (n, 32)."""
    f, off = check_offsets(flat, offsets)
    out = np.empty((off.shape[0] - 1, 32), np.uint8)
    if parallel:
        _var_parallel(f, off, out, PARALLEL_CHUNK)
    else:
        _var_serial(f, off, out)
    return out


def sha256d(data: bytes) -> bytes:
    """SHA256d of one message (numba-backed convenience; batch with sha256d_rows / sha256d_var)."""
    out = np.empty((1, 32), np.uint8)
    # straight to the kernel: the arrays are well-formed by construction, and per-call overhead matters here
    _var_serial(np.frombuffer(data, dtype=np.uint8).copy(), np.array([0, len(data)], dtype=np.int64), out)
    return out.tobytes()
