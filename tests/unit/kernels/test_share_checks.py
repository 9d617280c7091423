"""Share-check kernels against their plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.share_checks import DuplicateWindow, check_reference, check_shares, key_reference, share_keys
from schemas.reasons import Reason
from streams.columns import string_buffers

GOOD = "bc1qexampleminer0000000000000000000000aaaa"
REF = 1_800_000_000_000

texts = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=110)
addresses = st.one_of(texts, st.from_regex(r"[A-Za-z0-9]{15,105}", fullmatch=True), st.just(GOOD))
workers = st.one_of(texts, st.from_regex(r"[A-Za-z0-9_.\-]{0,70}", fullmatch=True))
rows = st.tuples(
    st.integers(REF - 5_000_000, REF + 500_000),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0001, 1e12)),
    st.booleans(),
    st.sampled_from([0, 0, 0, int(Reason.STALE), int(Reason.LOW_DIFFICULTY)]),
    addresses,
    workers,
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1e15)),
)
Row = tuple[int, float, bool, int, str, str, float]


def run_checks(batch: list[Row]) -> list[int]:
    miner_off, miner_data = string_buffers(pa.array([r[4] for r in batch]))
    worker_off, worker_data = string_buffers(pa.array([r[5] for r in batch]))
    out = check_shares(
        np.array([r[0] for r in batch], dtype=np.int64),
        np.full(len(batch), REF, dtype=np.int64),
        np.array([r[1] for r in batch], dtype=np.float64),
        np.array([r[6] for r in batch], dtype=np.float64),
        np.array([r[2] for r in batch], dtype=np.uint8),
        np.array([r[3] for r in batch], dtype=np.uint8),
        miner_off, miner_data, worker_off, worker_data,
        3_600_000, 300_000,
    )
    return [int(x) for x in out]


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=40))
def test_checks_match_reference(batch: list[Row]) -> None:
    expected = [check_reference(ts, REF, d, known, up, m, w, 3_600_000, 300_000, network_difficulty=nd)
                for ts, d, known, up, m, w, nd in batch]
    assert run_checks(batch) == expected


def test_each_reason_fires() -> None:
    batch: list[Row] = [
        (REF, 1.0, True, 0, GOOD, "rig1", 1e12),
        (REF, 0.0, True, 0, GOOD, "rig1", 0.0),
        (REF, math.nan, True, 0, GOOD, "rig1", 0.0),
        (REF - 3_600_001, 1.0, True, 0, GOOD, "rig1", 0.0),
        (REF + 300_001, 1.0, True, 0, GOOD, "rig1", 0.0),
        (REF, 1.0, True, 0, "tooshort", "rig1", 0.0),
        (REF, 1.0, True, 0, GOOD, "has space", 0.0),
        (REF, 1.0, False, 0, GOOD, "rig1", 0.0),
        (REF, 1.0, True, int(Reason.STALE), GOOD, "rig1", 0.0),
        # hostile magnitudes: no difficulty exceeds 2^256; a NaN/negative network difficulty would poison PPLNS
        (REF, 1e308, True, 0, GOOD, "rig1", 0.0),
        (REF, 2.0**256, True, 0, GOOD, "rig1", 2.0**256),
        (REF, 1.0, True, 0, GOOD, "rig1", math.nan),
        (REF, 1.0, True, 0, GOOD, "rig1", -1.0),
        (REF, 1.0, True, 0, GOOD, "rig1", math.inf),
    ]
    assert run_checks(batch) == [
        0, Reason.BAD_DIFFICULTY, Reason.BAD_DIFFICULTY, Reason.TIME_SKEW, Reason.TIME_SKEW, Reason.BAD_ADDRESS,
        Reason.BAD_WORKER, Reason.UNKNOWN_ALGORITHM, Reason.STALE,
        Reason.BAD_DIFFICULTY, 0, Reason.BAD_DIFFICULTY, Reason.BAD_DIFFICULTY, Reason.BAD_DIFFICULTY,
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(texts, texts, texts, texts, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
                min_size=1, max_size=30))
def test_keys_match_reference(batch: list[tuple[str, str, str, str, int, int]]) -> None:
    cols = [string_buffers(pa.array([r[i] for r in batch])) for i in range(4)]
    keys = share_keys(cols[0][0], cols[0][1], cols[1][0], cols[1][1], cols[2][0], cols[2][1], cols[3][0], cols[3][1],
                      np.array([r[4] for r in batch], dtype=np.uint32), np.array([r[5] for r in batch], dtype=np.uint32))
    assert [int(k) for k in keys] == [key_reference(*r) for r in batch]


def test_duplicate_window_within_and_across_batches_and_expiry() -> None:
    window = DuplicateWindow(window_ms=1000, capacity=4)
    keys = np.array([1, 2, 1, 3], dtype=np.uint64)
    ts = np.array([0, 10, 20, 30], dtype=np.int64)
    reasons = np.zeros(4, dtype=np.uint8)
    window.mark(keys, ts, reasons)
    assert reasons.tolist() == [0, 0, Reason.DUPLICATE, 0]
    # across batches; a rejected share neither counts as seen nor gets marked
    reasons = np.array([0, Reason.STALE, 0], dtype=np.uint8)
    window.mark(np.array([2, 9, 9], dtype=np.uint64), np.array([500, 510, 520], dtype=np.int64), reasons)
    assert reasons.tolist() == [Reason.DUPLICATE, Reason.STALE, 0]
    # outside the window the same key is accepted again
    reasons = np.zeros(1, dtype=np.uint8)
    window.mark(np.array([1], dtype=np.uint64), np.array([5000], dtype=np.int64), reasons)
    assert reasons.tolist() == [0]


def test_duplicate_window_grows_and_matches_a_set() -> None:
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 5000, size=20_000).astype(np.uint64)
    ts = np.arange(20_000, dtype=np.int64)
    reasons = np.zeros(20_000, dtype=np.uint8)
    DuplicateWindow(window_ms=10**9, capacity=16).mark(keys, ts, reasons)
    seen: set[int] = set()
    expected = []
    for k in keys.tolist():
        expected.append(int(Reason.DUPLICATE) if k in seen else 0)
        seen.add(k)
    assert reasons.tolist() == expected
