"""Share validation kernels: one reason code per share (0 = accepted), and the duplicate-detection key.

Inputs are Arrow columns seen as numpy arrays (strings as offsets + bytes, no copies). Every kernel has a
plain-Python reference below it (`*_reference`) that its unit test compares against.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from schemas.algorithms import MAX_DIFFICULTY
from schemas.identity import ADDRESS_MAX_LEN, ADDRESS_MIN_LEN, WORKER_MAX_LEN
from schemas.reasons import Reason

U8 = npt.NDArray[np.uint8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

_ACCEPTED = np.uint8(Reason.ACCEPTED)
_BAD_DIFFICULTY = np.uint8(Reason.BAD_DIFFICULTY)
_TIME_SKEW = np.uint8(Reason.TIME_SKEW)
_BAD_ADDRESS = np.uint8(Reason.BAD_ADDRESS)
_BAD_WORKER = np.uint8(Reason.BAD_WORKER)
_UNKNOWN_ALGORITHM = np.uint8(Reason.UNKNOWN_ALGORITHM)
_DUPLICATE = np.uint8(Reason.DUPLICATE)

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@nb.njit(cache=True, nogil=True, inline="always")
def _is_alnum(c: int) -> bool:
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


@nb.njit(cache=True, nogil=True)
def _address_ok(data: U8, start: int, end: int) -> bool:
    n = end - start
    if n < ADDRESS_MIN_LEN or n > ADDRESS_MAX_LEN:
        return False
    for i in range(start, end):
        if not _is_alnum(data[i]):
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _worker_ok(data: U8, start: int, end: int) -> bool:
    if end - start > WORKER_MAX_LEN:
        return False
    for i in range(start, end):
        c = data[i]
        if not (_is_alnum(c) or c == 95 or c == 45 or c == 46):  # _ - .
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _check(
    ts_ms: I64,
    ref_ms: I64,
    difficulty: F64,
    network_difficulty: F64,
    algo_known: U8,
    upstream: U8,
    miner_off: I32,
    miner_data: U8,
    worker_off: I32,
    worker_data: U8,
    max_past_ms: int,
    max_future_ms: int,
) -> U8:
    n = ts_ms.shape[0]
    out = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        if upstream[i] != 0:
            out[i] = upstream[i]
        elif algo_known[i] == 0:
            out[i] = _UNKNOWN_ALGORITHM
        elif not (0.0 < difficulty[i] <= MAX_DIFFICULTY and 0.0 <= network_difficulty[i] <= MAX_DIFFICULTY):
            out[i] = _BAD_DIFFICULTY  # NaN fails every comparison
        elif ts_ms[i] < ref_ms[i] - max_past_ms or ts_ms[i] > ref_ms[i] + max_future_ms:
            out[i] = _TIME_SKEW
        elif not _address_ok(miner_data, miner_off[i], miner_off[i + 1]):
            out[i] = _BAD_ADDRESS
        elif not _worker_ok(worker_data, worker_off[i], worker_off[i + 1]):
            out[i] = _BAD_WORKER
    return out


def check_shares(
    ts_ms: I64,
    ref_ms: I64,
    difficulty: F64,
    network_difficulty: F64,
    algo_known: U8,
    upstream: U8,
    miner_off: I32,
    miner_data: U8,
    worker_off: I32,
    worker_data: U8,
    max_past_ms: int,
    max_future_ms: int,
) -> U8:
    """Reason code per share, first failing check wins, in this order: the gateway's own verdict (`upstream`,
    0 = accepted), unknown algorithm, difficulty not in (0, MAX_DIFFICULTY] or network difficulty not in
    [0, MAX_DIFFICULTY] (NaN and infinities included), timestamp outside [ref - max_past, ref + max_future]
    (ref = when the source published it), malformed address, malformed worker name. Duplicates are checked
    separately (`DuplicateWindow.mark`), over the shares that pass."""
    result: U8 = _check(
        ts_ms, ref_ms, difficulty, network_difficulty, algo_known, upstream, miner_off, miner_data, worker_off, worker_data,
        max_past_ms, max_future_ms,
    )
    return result


@nb.njit(cache=True, nogil=True, inline="always")
def _fnv(h: np.uint64, data: U8, start: int, end: int) -> np.uint64:
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * FNV_PRIME
    # a separator so ("ab","c") and ("a","bc") differ
    return (h ^ np.uint64(0xFF)) * FNV_PRIME


@nb.njit(cache=True, nogil=True)
def _keys(
    miner_off: I32, miner_data: U8, worker_off: I32, worker_data: U8, job_off: I32, job_data: U8,
    en2_off: I32, en2_data: U8, ntime: npt.NDArray[np.uint32], nonce: npt.NDArray[np.uint32],
) -> U64:
    n = ntime.shape[0]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        h = FNV_OFFSET
        h = _fnv(h, miner_data, miner_off[i], miner_off[i + 1])
        h = _fnv(h, worker_data, worker_off[i], worker_off[i + 1])
        h = _fnv(h, job_data, job_off[i], job_off[i + 1])
        h = _fnv(h, en2_data, en2_off[i], en2_off[i + 1])
        h = (h ^ np.uint64(ntime[i])) * FNV_PRIME
        h = (h ^ np.uint64(nonce[i])) * FNV_PRIME
        out[i] = h
    return out


def share_keys(
    miner_off: I32, miner_data: U8, worker_off: I32, worker_data: U8, job_off: I32, job_data: U8,
    en2_off: I32, en2_data: U8, ntime: npt.NDArray[np.uint32], nonce: npt.NDArray[np.uint32],
) -> U64:
    """64-bit FNV-1a of (miner, worker, job_id, extranonce2, ntime, nonce): the identity of a submission."""
    result: U64 = _keys(
        miner_off, miner_data, worker_off, worker_data, job_off, job_data, en2_off, en2_data, ntime, nonce
    )
    return result


EMPTY = np.int64(-(2**63))  # time of an empty slot
#: One slot of the duplicate window's open-addressing table: key and time side by side, so a probe touches
#: one cache line (the table outgrows the caches at a few hundred thousand shares per second).
SLOT = np.dtype([("key", np.uint64), ("ts", np.int64)])


def _empty_table(capacity: int) -> npt.NDArray[np.void]:
    table = np.empty(capacity, dtype=SLOT)
    table["key"] = 0
    table["ts"] = EMPTY
    return table


@nb.njit(cache=True, nogil=True)
def _insert(table: npt.NDArray[np.void], key: np.uint64, ts: np.int64) -> None:
    mask = np.uint64(table.shape[0] - 1)
    slot = key & mask
    while table[slot]["ts"] != EMPTY:
        slot = (slot + np.uint64(1)) & mask
    table[slot]["key"] = key
    table[slot]["ts"] = ts


@nb.njit(cache=True, nogil=True)
def _regrow(table: npt.NDArray[np.void], window_ms: np.int64) -> tuple[npt.NDArray[np.void], np.int64]:
    newest = EMPTY
    for j in range(table.shape[0]):
        if table[j]["ts"] > newest:
            newest = table[j]["ts"]
    live = np.int64(0)
    for j in range(table.shape[0]):
        t = table[j]["ts"]
        if t != EMPTY and t >= newest - window_ms:
            live += 1
    cap = table.shape[0]
    while 4 * (live + 1) > cap:  # keep the table at most half full after the next growth check
        cap *= 2
    fresh = np.empty(cap, dtype=table.dtype)
    for j in range(cap):
        fresh[j]["key"] = np.uint64(0)
        fresh[j]["ts"] = EMPTY
    for j in range(table.shape[0]):
        t = table[j]["ts"]
        if t != EMPTY and t >= newest - window_ms:
            _insert(fresh, table[j]["key"], t)
    return fresh, live


@nb.njit(cache=True, nogil=True)
def _mark_duplicates(keys: U64, ts_ms: I64, reasons: U8, table: npt.NDArray[np.void], seen_len: np.int64,
                     window_ms: np.int64) -> tuple[npt.NDArray[np.void], np.int64]:
    # `table` is an open-addressing hash table sized to a power of two; when it gets half full it is rebuilt
    # without the entries older than the window (relative to the newest), growing if still needed.
    for i in range(keys.shape[0]):
        if reasons[i] != 0:
            continue
        if 2 * (seen_len + 1) > table.shape[0]:
            table, seen_len = _regrow(table, window_ms)
        k = keys[i]
        mask = np.uint64(table.shape[0] - 1)
        slot = k & mask
        while True:
            t = table[slot]["ts"]
            if t == EMPTY:
                table[slot]["key"] = k
                table[slot]["ts"] = ts_ms[i]
                seen_len += 1
                break
            if table[slot]["key"] == k:
                if abs(ts_ms[i] - t) <= window_ms:
                    reasons[i] = _DUPLICATE
                else:
                    table[slot]["ts"] = ts_ms[i]
                break
            slot = (slot + np.uint64(1)) & mask
    return table, seen_len


class DuplicateWindow:
    """The submissions seen in the last `window_ms`, across batches. Rebuilt at start from ClickHouse."""

    def __init__(self, window_ms: int, capacity: int = 1 << 16) -> None:
        if capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two")
        self.window_ms = window_ms
        self._table = _empty_table(capacity)
        self._len = np.int64(0)

    def __len__(self) -> int:
        return int(self._len)

    def mark(self, keys: U64, ts_ms: I64, reasons: U8) -> None:
        """Set reason DUPLICATE (in place) on every still-accepted share whose key was seen within the window,
        earlier in this batch or in an earlier batch; remember the rest."""
        self._table, self._len = _mark_duplicates(
            keys, ts_ms, reasons, self._table, self._len, np.int64(self.window_ms)
        )


# ---- plain-Python references (used by the unit tests) -------------------------------------------------

def check_reference(ts: int, ref: int, difficulty: float, algo_known: bool, upstream: int, miner: str,
                    worker: str, max_past_ms: int, max_future_ms: int, network_difficulty: float = 0.0) -> int:
    from schemas.identity import valid_address, valid_worker

    if upstream:
        return upstream
    if not algo_known:
        return int(Reason.UNKNOWN_ALGORITHM)
    credited = difficulty > 0 and math.isfinite(difficulty) and difficulty <= MAX_DIFFICULTY
    network = math.isfinite(network_difficulty) and 0 <= network_difficulty <= MAX_DIFFICULTY
    if not (credited and network):
        return int(Reason.BAD_DIFFICULTY)
    if ts < ref - max_past_ms or ts > ref + max_future_ms:
        return int(Reason.TIME_SKEW)
    if not (miner.isascii() and valid_address(miner)):
        return int(Reason.BAD_ADDRESS)
    if not (worker.isascii() and valid_worker(worker)):
        return int(Reason.BAD_WORKER)
    return 0


def key_reference(miner: str, worker: str, job_id: str, extranonce2: str, ntime: int, nonce: int) -> int:
    mask = (1 << 64) - 1
    h = int(FNV_OFFSET)
    for part in (miner, worker, job_id, extranonce2):
        for b in part.encode():
            h = ((h ^ b) * int(FNV_PRIME)) & mask
        h = ((h ^ 0xFF) * int(FNV_PRIME)) & mask
    h = ((h ^ ntime) * int(FNV_PRIME)) & mask
    h = ((h ^ nonce) * int(FNV_PRIME)) & mask
    return h
