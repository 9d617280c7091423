"""Proof-of-work kernel throughput: SHA256d headers, full Stratum submit verification, scrypt (1 thread and prange).

`python -m bench.pow [seconds]` prints the figures; `run()` returns them for the bench runner.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numba
import numpy as np

from kernels.scrypt import scrypt_rows
from kernels.sha256d import sha256d_rows
from kernels.stratum_header import verify_submits
from kernels.targets import DIFF1_SHA256D, meets_target_rows, target_le_bytes

BATCH = 4096  # submits per verify_submits call, as the gateway would batch them
COINBASE_BYTES = 200  # a typical pool coinbase (BIP34 height, extranonces, payout + witness commitment)
SCRYPT_BATCH = 256


def _rate(fn: Callable[[], object], items: int, seconds: float) -> float:
    """Items per second of fn() (which processes `items` items): the median over calls made in `seconds`.

    The median, not the mean, so a neighbour process stealing the CPU for a moment skews the figure less.
    """
    fn()  # warm-up: compile or load the cached kernel, touch the memory
    rates: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 3:
        start = time.perf_counter()
        fn()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates)


def _submit_batch(n: int, branches: int, seed: int = 0) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """A batch of n distinct submits (own coinbase each) plus their share targets (difficulty 1)."""
    rng = np.random.default_rng(seed)
    flat = rng.integers(0, 256, n * COINBASE_BYTES, dtype=np.uint8)
    offsets = np.arange(n + 1, dtype=np.int64) * COINBASE_BYTES
    args = (
        flat,
        offsets,
        rng.integers(0, 256, (n, branches, 32), dtype=np.uint8),
        np.full(n, branches, np.uint32),
        np.full(n, 0x20000000, np.uint32),
        rng.integers(0, 256, (n, 32), dtype=np.uint8),
        rng.integers(0, 2**32, n, dtype=np.uint32),
        np.full(n, 0x17034219, np.uint32),
        rng.integers(0, 2**32, n, dtype=np.uint32),
    )
    targets = np.tile(np.frombuffer(target_le_bytes(DIFF1_SHA256D), np.uint8), (n, 1))
    return args, targets


def _verify_rate(branches: int, parallel: bool, seconds: float) -> float:
    args, targets = _submit_batch(BATCH, branches)

    def once() -> None:
        _, hashes = verify_submits(*args, parallel=parallel)
        meets_target_rows(hashes, targets)

    return _rate(once, BATCH, seconds)


def run(seconds: float = 3.0) -> dict[str, float]:
    """Measure every figure, about `seconds` in total (split evenly), print and return them (per second)."""
    rng = np.random.default_rng(1)
    headers = rng.integers(0, 256, (65536, 80), dtype=np.uint8)
    scrypt_headers = rng.integers(0, 256, (SCRYPT_BATCH, 80), dtype=np.uint8)
    plan: dict[str, Callable[[float], float]] = {
        "sha256d_headers_1t": lambda s: _rate(lambda: sha256d_rows(headers), len(headers), s),
        "sha256d_headers_par": lambda s: _rate(lambda: sha256d_rows(headers, parallel=True), len(headers), s),
        "verify_sha256d_k12_1t": lambda s: _verify_rate(12, False, s),
        "verify_sha256d_k12_par": lambda s: _verify_rate(12, True, s),
        "verify_sha256d_k4_1t": lambda s: _verify_rate(4, False, s),
        "verify_sha256d_k4_par": lambda s: _verify_rate(4, True, s),
        "scrypt_hashes_1t": lambda s: _rate(lambda: scrypt_rows(scrypt_headers[:32]), 32, s),
        "scrypt_hashes_par": lambda s: _rate(
            lambda: scrypt_rows(scrypt_headers, parallel=True), SCRYPT_BATCH, s
        ),
    }
    each = max(0.2, seconds / len(plan))
    figures = {name: measure(each) for name, measure in plan.items()}
    figures["threads"] = float(numba.get_num_threads())
    print(
        f"pow kernels ({numba.get_num_threads()} numba threads, {numba.threading_layer()} layer; "
        f"verify = {BATCH}-submit batches, {COINBASE_BYTES}-byte coinbases, k merkle branches, target compare)"
    )
    for name, value in figures.items():
        if name != "threads":
            print(f"  {name:<24} {value:>14,.0f} /s")
    return figures


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
