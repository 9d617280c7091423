"""scrypt in numba: Litecoin/Dogecoin proof of work (N=1024, r=1, p=1, 32 bytes, header as password and salt).

Built from RFC 7914's pieces (PBKDF2-HMAC-SHA256, Salsa20/8, BlockMix, ROMix), which stay generic so the
RFC's own vectors can check them; `scrypt_rows` is the batch kernel the gateway calls.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from kernels.sha256d import (
    H0,
    as_u8_matrix,
    compress,
    load_be_words,
    sha256_into,
    store_be_words,
)

# mypy: allow-untyped-defs, allow-untyped-calls, allow-untyped-decorators

U8 = NDArray[np.uint8]

# Scratch for the whole ROMix table is N * 128 * r bytes (128 KiB for Litecoin), allocated once per
# batch range and reused for every row.


@njit(cache=True, nogil=True)
def _rotl(v, n):
    v = np.uint32(v)
    return np.uint32((v << n) | (v >> (32 - n)))


@njit(cache=True, nogil=True)
def salsa20_8_inplace(x):
    """x = x + Salsa20/8-core(x) on 16 uint32 words (RFC 7914 section 3)."""
    x0, x1, x2, x3 = x[0], x[1], x[2], x[3]
    x4, x5, x6, x7 = x[4], x[5], x[6], x[7]
    x8, x9, x10, x11 = x[8], x[9], x[10], x[11]
    x12, x13, x14, x15 = x[12], x[13], x[14], x[15]
    for _ in range(4):
        # columns
        x4 = np.uint32(x4 ^ _rotl(x0 + x12, 7))
        x8 = np.uint32(x8 ^ _rotl(x4 + x0, 9))
        x12 = np.uint32(x12 ^ _rotl(x8 + x4, 13))
        x0 = np.uint32(x0 ^ _rotl(x12 + x8, 18))
        x9 = np.uint32(x9 ^ _rotl(x5 + x1, 7))
        x13 = np.uint32(x13 ^ _rotl(x9 + x5, 9))
        x1 = np.uint32(x1 ^ _rotl(x13 + x9, 13))
        x5 = np.uint32(x5 ^ _rotl(x1 + x13, 18))
        x14 = np.uint32(x14 ^ _rotl(x10 + x6, 7))
        x2 = np.uint32(x2 ^ _rotl(x14 + x10, 9))
        x6 = np.uint32(x6 ^ _rotl(x2 + x14, 13))
        x10 = np.uint32(x10 ^ _rotl(x6 + x2, 18))
        x3 = np.uint32(x3 ^ _rotl(x15 + x11, 7))
        x7 = np.uint32(x7 ^ _rotl(x3 + x15, 9))
        x11 = np.uint32(x11 ^ _rotl(x7 + x3, 13))
        x15 = np.uint32(x15 ^ _rotl(x11 + x7, 18))
        # rows
        x1 = np.uint32(x1 ^ _rotl(x0 + x3, 7))
        x2 = np.uint32(x2 ^ _rotl(x1 + x0, 9))
        x3 = np.uint32(x3 ^ _rotl(x2 + x1, 13))
        x0 = np.uint32(x0 ^ _rotl(x3 + x2, 18))
        x6 = np.uint32(x6 ^ _rotl(x5 + x4, 7))
        x7 = np.uint32(x7 ^ _rotl(x6 + x5, 9))
        x4 = np.uint32(x4 ^ _rotl(x7 + x6, 13))
        x5 = np.uint32(x5 ^ _rotl(x4 + x7, 18))
        x11 = np.uint32(x11 ^ _rotl(x10 + x9, 7))
        x8 = np.uint32(x8 ^ _rotl(x11 + x10, 9))
        x9 = np.uint32(x9 ^ _rotl(x8 + x11, 13))
        x10 = np.uint32(x10 ^ _rotl(x9 + x8, 18))
        x12 = np.uint32(x12 ^ _rotl(x15 + x14, 7))
        x13 = np.uint32(x13 ^ _rotl(x12 + x15, 9))
        x14 = np.uint32(x14 ^ _rotl(x13 + x12, 13))
        x15 = np.uint32(x15 ^ _rotl(x14 + x13, 18))
    x[0] = np.uint32(x[0] + x0)
    x[1] = np.uint32(x[1] + x1)
    x[2] = np.uint32(x[2] + x2)
    x[3] = np.uint32(x[3] + x3)
    x[4] = np.uint32(x[4] + x4)
    x[5] = np.uint32(x[5] + x5)
    x[6] = np.uint32(x[6] + x6)
    x[7] = np.uint32(x[7] + x7)
    x[8] = np.uint32(x[8] + x8)
    x[9] = np.uint32(x[9] + x9)
    x[10] = np.uint32(x[10] + x10)
    x[11] = np.uint32(x[11] + x11)
    x[12] = np.uint32(x[12] + x12)
    x[13] = np.uint32(x[13] + x13)
    x[14] = np.uint32(x[14] + x14)
    x[15] = np.uint32(x[15] + x15)


@njit(cache=True, nogil=True)
def blockmix_salsa8(b, y, x, r):
    """scryptBlockMix (RFC 7914 section 4) in place on b (32*r uint32 words); y, x are scratch."""
    last = (2 * r - 1) * 16
    for k in range(16):
        x[k] = b[last + k]
    for i in range(2 * r):
        for k in range(16):
            x[k] ^= b[i * 16 + k]
        salsa20_8_inplace(x)
        # even blocks go to the first half, odd blocks to the second half
        dst = (i // 2) * 16 if i % 2 == 0 else (r + i // 2) * 16
        for k in range(16):
            y[dst + k] = x[k]
    for k in range(32 * r):
        b[k] = y[k]


@njit(cache=True, nogil=True)
def romix(block, start, r, n, v):
    """scryptROMix (RFC 7914 section 5) in place on block[start:start+128*r] (uint8); v is (n, 32*r) scratch."""
    words = 32 * r
    xw = np.empty(words, np.uint32)
    y = np.empty(words, np.uint32)
    t = np.empty(16, np.uint32)
    for k in range(words):
        p = start + 4 * k
        xw[k] = (
            np.uint32(block[p])
            | (np.uint32(block[p + 1]) << 8)
            | (np.uint32(block[p + 2]) << 16)
            | (np.uint32(block[p + 3]) << 24)
        )
    for i in range(n):
        for k in range(words):
            v[i, k] = xw[k]
        blockmix_salsa8(xw, y, t, r)
    mask = n - 1
    for _ in range(n):
        j = xw[(2 * r - 1) * 16] & mask
        for k in range(words):
            xw[k] ^= v[j, k]
        blockmix_salsa8(xw, y, t, r)
    for k in range(words):
        p = start + 4 * k
        x = xw[k]
        block[p] = np.uint8(x & 0xFF)
        block[p + 1] = np.uint8((x >> 8) & 0xFF)
        block[p + 2] = np.uint8((x >> 16) & 0xFF)
        block[p + 3] = np.uint8((x >> 24) & 0xFF)


@njit(cache=True, nogil=True)
def hmac_init(key, inner, outer, w):
    """HMAC-SHA256 midstates after key^ipad and key^opad (uint32[8] each)."""
    kb = np.zeros(64, np.uint8)
    if key.shape[0] > 64:
        st = H0.copy()
        sha256_into(st, w, key, 0, key.shape[0], 0)
        store_be_words(st, kb, 0)
    else:
        for j in range(key.shape[0]):
            kb[j] = key[j]
    pad = np.empty(64, np.uint8)
    for j in range(64):
        pad[j] = kb[j] ^ 0x36
    inner[:] = H0
    load_be_words(pad, 0, w, 0, 16)
    compress(inner, w)
    for j in range(64):
        pad[j] = kb[j] ^ 0x5C
    outer[:] = H0
    load_be_words(pad, 0, w, 0, 16)
    compress(outer, w)


@njit(cache=True, nogil=True)
def hmac_into(inner, outer, w, msg, start, end, state, digest):
    """state = HMAC(key, msg[start:end]) words; digest (uint8[32]) is scratch and ends holding the MAC."""
    state[:] = inner
    sha256_into(state, w, msg, start, end, 64)
    store_be_words(state, digest, 0)
    state[:] = outer
    sha256_into(state, w, digest, 0, 32, 64)
    store_be_words(state, digest, 0)


@njit(cache=True, nogil=True)
def pbkdf2_into(password, salt, iterations, out):
    """out[:] = PBKDF2-HMAC-SHA256(password, salt, iterations, len(out)) (RFC 8018), all uint8."""
    w = np.empty(64, np.uint32)
    inner = np.empty(8, np.uint32)
    outer = np.empty(8, np.uint32)
    state = np.empty(8, np.uint32)
    u = np.empty(32, np.uint8)
    acc = np.empty(32, np.uint8)
    hmac_init(password, inner, outer, w)
    slen = salt.shape[0]
    msg = np.empty(slen + 4, np.uint8)
    msg[:slen] = salt
    dklen = out.shape[0]
    nblocks = (dklen + 31) // 32
    for i in range(1, nblocks + 1):
        msg[slen] = np.uint8((i >> 24) & 0xFF)
        msg[slen + 1] = np.uint8((i >> 16) & 0xFF)
        msg[slen + 2] = np.uint8((i >> 8) & 0xFF)
        msg[slen + 3] = np.uint8(i & 0xFF)
        hmac_into(inner, outer, w, msg, 0, slen + 4, state, u)
        acc[:] = u
        for _ in range(1, iterations):
            hmac_into(inner, outer, w, u, 0, 32, state, u)
            for k in range(32):
                acc[k] ^= u[k]
        base = (i - 1) * 32
        for k in range(min(32, dklen - base)):
            out[base + k] = acc[k]


@njit(cache=True, nogil=True)
def scrypt_into(password, salt, n, r, p, out, v):
    """out[:] = scrypt(password, salt, N=n, r, p, dkLen=len(out)) (RFC 7914 section 6); v is (n, 32*r) scratch."""
    block = np.empty(p * 128 * r, np.uint8)
    pbkdf2_into(password, salt, 1, block)
    for i in range(p):
        romix(block, i * 128 * r, r, n, v)
    pbkdf2_into(password, block, 1, out)


@njit(cache=True, nogil=True)
def _rows_range(headers, out, lo, hi):
    v = np.empty((1024, 32), np.uint32)
    for i in range(lo, hi):
        scrypt_into(headers[i], headers[i], 1024, 1, 1, out[i], v)


@njit(cache=True, nogil=True)
def _rows_serial(headers, out):
    _rows_range(headers, out, 0, headers.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def _rows_parallel(headers, out, chunk):
    n = headers.shape[0]
    for c in prange((n + chunk - 1) // chunk):
        _rows_range(headers, out, c * chunk, min(n, (c + 1) * chunk))


SCRYPT_PARALLEL_CHUNK = 16  # a scrypt hash is ~1000x a SHA256d one: smaller tasks balance better


def scrypt_rows(headers: NDArray[np.uint8], *, parallel: bool = False) -> U8:
    """Litecoin scrypt (N=1024, r=1, p=1, dkLen=32, header as password and salt): uint8 (n, 80) -> (n, 32)."""
    h = as_u8_matrix(headers, "headers", 80)
    out = np.empty((h.shape[0], 32), np.uint8)
    if parallel:
        _rows_parallel(h, out, SCRYPT_PARALLEL_CHUNK)
    else:
        _rows_serial(h, out)
    return out


def scrypt_1024_1_1(header: bytes) -> bytes:
    """scrypt PoW hash of one 80-byte header (raw digest; compare it as a little-endian integer)."""
    if len(header) != 80:
        raise ValueError(f"a block header is 80 bytes, got {len(header)}")
    return bytes(scrypt_rows(np.frombuffer(header, dtype=np.uint8).reshape(1, 80))[0])


def _u8(data: bytes) -> U8:
    return np.frombuffer(data, dtype=np.uint8).copy()  # writable: see kernels.sha256d.writable


def scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """Generic scrypt (RFC 7914) on the same numba building blocks; used to check them against the RFC."""
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or dklen < 1:
        raise ValueError("scrypt needs N a power of two > 1, r >= 1, p >= 1, dklen >= 1")
    out = np.empty(dklen, np.uint8)
    scrypt_into(_u8(password), _u8(salt), n, r, p, out, np.empty((n, 32 * r), np.uint32))
    return out.tobytes()


def pbkdf2_hmac_sha256(password: bytes, salt: bytes, iterations: int, dklen: int) -> bytes:
    """PBKDF2-HMAC-SHA256 on the numba building blocks (same result as hashlib.pbkdf2_hmac)."""
    if iterations < 1 or dklen < 1:
        raise ValueError("iterations and dklen must be >= 1")
    out = np.empty(dklen, np.uint8)
    pbkdf2_into(_u8(password), _u8(salt), iterations, out)
    return out.tobytes()


def salsa20_8(block: bytes) -> bytes:
    """Salsa20/8 core of one 64-byte block (16 little-endian words), as in RFC 7914 section 8."""
    if len(block) != 64:
        raise ValueError(f"Salsa20/8 works on 64-byte blocks, got {len(block)}")
    x = np.frombuffer(block, dtype="<u4").astype(np.uint32)
    salsa20_8_inplace(x)
    return x.astype("<u4").tobytes()
