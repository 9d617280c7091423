"""Reward-scheme kernels: split a found block's reward over the shares that earned it (PPLNS, PROP, SOLO),
and the per-share value of PPS / FPPS. Pure: arrays and integers in, integer base units out, no I/O.

Money rules (DOMAIN.md, Rosenfeld 2011), all amounts integer base units:
- fee = floor(B · fee_bps / 10000) (rounded down: the pool never takes more than its rate); the miners'
  part is M = B − fee.
- PPLNS: walk the shares NEWEST FIRST (the block's own share first), score each d/D with its own network
  difficulty D, stop when the score sum reaches X (window factor); the crossing share is cut to the
  remaining score. Each share earns score/X of M. If the history is shorter than the window (the pool is
  younger than X·D of work) the uncovered part (X − Σscore)/X of M is NOT re-normalised over the shares
  present: it is returned as `Split.remainder`, to be recorded as an explicit ledger row to the pool. This
  keeps every share's pay independent of how old the pool is (no windfall for early miners).
- PROP: M in proportion to Σd per owner over the round (the window given: the shares since the last block).
- SOLO: the finder gets M.
- Amounts per owner by largest remainder (`kernels.apportion`), ties to the smaller address, so
  Σ credits + fee + remainder == B exactly and nothing is negative. The floating-point scores are made
  exact (`exact_ints`) before dividing, so the same window always gives the same split, bit for bit.
- PPS / FPPS: a share earns floor(M · min(d/D, 1)) (FPPS: B = subsidy + expected fees, chosen by the
  caller); rounding down leaves the dust with the pool, which pays PPS whether or not it finds blocks.

The window walk and the per-owner sums (up to millions of shares) are numba kernels; `*_reference` below
are the plain-Python / `fractions.Fraction` versions the unit tests compare against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numba as nb
import numpy as np
import numpy.typing as npt

from kernels.apportion import exact_ints, largest_remainder

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

SPLIT_SCHEMES = ("pplns", "prop", "solo")
BPS = 10_000
#: Tie-break key of the PPLNS remainder among claimants: sorts after every address, so on an exact tie of
#: remainders a miner gets the unit before the pool.
_POOL_KEY = "\U0010ffff"


@dataclass(frozen=True)
class ShareWindow:
    """Accepted shares, NEWEST FIRST (the block's own share first), as columns."""

    owner: I64  # index into `owners`
    difficulty: F64  # share difficulty d
    network_difficulty: F64  # D at the time of each share
    owners: tuple[str, ...]  # miner addresses (unique)


@dataclass(frozen=True)
class Split:
    credits: dict[str, int]  # address -> base units (only > 0)
    fee: int  # the pool's fee
    remainder: int  # PPLNS: the unfilled window's part, to the pool (recorded explicitly)
    window_shares: int  # shares used (PPLNS: up to and including the cut one)


@nb.njit(cache=True, nogil=True)
def pplns_weights(owner: I64, difficulty: F64, network_difficulty: F64, n_owners: int,
                  window_factor: float) -> tuple[F64, int, bool]:
    """Score per owner over the PPLNS window, the shares used, and whether the window was filled."""
    weights = np.zeros(n_owners, dtype=np.float64)
    cum = 0.0
    n = owner.shape[0]
    for i in range(n):
        s = difficulty[i] / network_difficulty[i]
        if cum + s >= window_factor:
            weights[owner[i]] += window_factor - cum  # the crossing share, cut to the remaining score
            return weights, i + 1, True
        weights[owner[i]] += s
        cum += s
    return weights, n, False


@nb.njit(cache=True, nogil=True)
def prop_weights(owner: I64, difficulty: F64, n_owners: int) -> F64:
    """Σd per owner."""
    weights = np.zeros(n_owners, dtype=np.float64)
    for i in range(owner.shape[0]):
        weights[owner[i]] += difficulty[i]
    return weights


@nb.njit(cache=True, nogil=True)
def _pps_kernel(difficulty: F64, network_difficulty: F64, miners: float) -> I64:
    out = np.empty(difficulty.shape[0], dtype=np.int64)
    for i in range(difficulty.shape[0]):
        out[i] = np.int64(math.floor(miners * min(difficulty[i] / network_difficulty[i], 1.0)))
    return out


def fee_of(reward: int, fee_bps: int) -> int:
    """The pool fee of `reward`: floor(reward · fee_bps / 10000)."""
    if isinstance(reward, bool) or not isinstance(reward, int) or reward < 0:
        raise ValueError(f"reward must be a non-negative integer in base units, got {reward!r}")
    if not 0 <= fee_bps <= BPS:
        raise ValueError(f"fee_bps must be in 0..{BPS}, got {fee_bps}")
    return reward * fee_bps // BPS


def _check_positive(name: str, values: F64) -> None:
    if values.size and not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"{name} must be finite and > 0")


def check_window(window: ShareWindow) -> None:
    """ValueError if the columns disagree in length, an owner index is out of range, a difficulty is not
    finite and positive, or an address repeats."""
    n = window.owner.shape[0]
    if window.difficulty.shape[0] != n or window.network_difficulty.shape[0] != n:
        raise ValueError("owner, difficulty and network_difficulty must have the same length")
    if n and (int(window.owner.min()) < 0 or int(window.owner.max()) >= len(window.owners)):
        raise ValueError("owner index out of range of owners")
    if len(set(window.owners)) != len(window.owners):
        raise ValueError("owners must be unique addresses")
    _check_positive("difficulty", window.difficulty)
    _check_positive("network_difficulty", window.network_difficulty)


def _columns(window: ShareWindow) -> tuple[I64, F64, F64]:
    return (np.ascontiguousarray(window.owner, dtype=np.int64), np.ascontiguousarray(window.difficulty, dtype=np.float64),
            np.ascontiguousarray(window.network_difficulty, dtype=np.float64))


def _credits(miners: int, weights: F64, owners: tuple[str, ...], pool_weight: float | None) -> tuple[dict[str, int], int]:
    """Apportion `miners` over the owners' float weights (and the pool's, when the window was not filled)."""
    idx = np.flatnonzero(weights > 0)
    keys = [owners[i] for i in idx]
    floats = [float(w) for w in weights[idx]]
    if pool_weight is None:
        if not keys:
            return {}, miners
        ints = exact_ints(floats)
        amounts = largest_remainder(miners, ints, keys)
        return {k: a for k, a in zip(keys, amounts, strict=True) if a > 0}, 0
    ints = exact_ints([*floats, pool_weight])
    x = ints.pop()
    rest = x - sum(ints)  # the uncovered part of X, exactly; <= 0 only through rounding at the edge
    if rest <= 0:
        return _credits(miners, weights, owners, None)
    amounts = largest_remainder(miners, [*ints, rest], [*keys, _POOL_KEY])
    remainder = amounts.pop()
    return {k: a for k, a in zip(keys, amounts, strict=True) if a > 0}, remainder


def split_block(scheme: str, reward: int, fee_bps: int, window: ShareWindow, *, window_factor: float = 2.0,
                finder: str = "") -> Split:
    """Split a found block's `reward` (base units) under `scheme` ("pplns" | "prop" | "solo"):
    Σ credits + fee + remainder == reward exactly. `window` is the shares newest first (PPLNS: as far back
    as available; PROP: the round). SOLO pays `finder` (default: the owner of the newest share)."""
    fee = fee_of(reward, fee_bps)
    miners = reward - fee
    if scheme not in SPLIT_SCHEMES:
        raise ValueError(f"split_block does not split {scheme!r}; schemes: {', '.join(SPLIT_SCHEMES)} "
                         "(pps and fpps pay per share: pps_value)")
    check_window(window)
    n = window.owner.shape[0]
    if scheme == "solo":
        who = finder or (window.owners[int(window.owner[0])] if n else "")
        if not who:
            raise ValueError("solo needs the finder (or a window holding the block's share)")
        return Split({who: miners} if miners else {}, fee, 0, 1 if n else 0)
    owner, difficulty, network = _columns(window)
    if scheme == "prop":
        credits, remainder = _credits(miners, prop_weights(owner, difficulty, len(window.owners)), window.owners, None)
        return Split(credits, fee, remainder, n)
    if not (math.isfinite(window_factor) and window_factor > 0):
        raise ValueError(f"window_factor must be a positive number, got {window_factor!r}")
    weights, used, filled = pplns_weights(owner, difficulty, network, len(window.owners), float(window_factor))
    credits, remainder = _credits(miners, weights, window.owners, None if filled else float(window_factor))
    return Split(credits, fee, remainder, int(used))


def split_fee(fee: int, recipients: Sequence[tuple[str, int]]) -> dict[str, int]:
    """The pool fee over its recipients (address, integer weight) by largest remainder, ties to the smaller
    address: Σ == fee exactly, every amount >= 0 (zero amounts kept, so the rows are the same every time)."""
    if not recipients:
        raise ValueError("split_fee needs at least one recipient")
    keys = [a for a, _ in recipients]
    return dict(zip(keys, largest_remainder(fee, [w for _, w in recipients], keys), strict=True))


def pps_value(difficulty: F64, network_difficulty: F64, reward: int, fee_bps: int) -> I64:
    """Base units each share earns under PPS (FPPS: pass subsidy + expected fees as `reward`):
    floor((reward − fee) · min(d/D, 1)), int64 per share."""
    miners = reward - fee_of(reward, fee_bps)
    d = np.ascontiguousarray(difficulty, dtype=np.float64)
    big_d = np.ascontiguousarray(network_difficulty, dtype=np.float64)
    if d.shape != big_d.shape:
        raise ValueError("difficulty and network_difficulty must have the same shape")
    _check_positive("difficulty", d)
    _check_positive("network_difficulty", big_d)
    out = _pps_kernel(d, big_d, float(miners))
    # float64 can land one unit off where the exact value sits on (or next to) an integer (27981·1/27981 =
    # 0.999…): those shares, and shares too large for float to be exact, are recomputed in integers.
    x = float(miners) * np.minimum(d / big_d, 1.0)
    frac = x - np.floor(x)
    for i in np.flatnonzero((frac < 1e-6) | (frac > 1 - 1e-6) | (x > 2.0**52)):
        out[i] = _pps_exact(miners, float(d[i]), float(big_d[i]))
    return out


def _pps_exact(miners: int, d: float, big_d: float) -> int:
    """floor(miners · min(d/D, 1)) in integers (d and D are binary rationals, exactly)."""
    dn, dd = d.as_integer_ratio()
    nn, nd = big_d.as_integer_ratio()
    return miners if dn * nd >= nn * dd else miners * dn * nd // (dd * nn)


# ---- plain-Python references (used by the unit tests) ------------------------------------------------

def pplns_weights_reference(owner: Sequence[int], difficulty: Sequence[float], network_difficulty: Sequence[float],
                            n_owners: int, window_factor: float) -> tuple[list[float], int, bool]:
    """The numba walk in plain Python floats (same operations, same order: bit-identical results)."""
    weights = [0.0] * n_owners
    cum = 0.0
    for i, (o, d, big_d) in enumerate(zip(owner, difficulty, network_difficulty, strict=True)):
        s = d / big_d
        if cum + s >= window_factor:
            weights[o] += window_factor - cum
            return weights, i + 1, True
        weights[o] += s
        cum += s
    return weights, len(owner), False


def hamilton_reference(total: int, quotas: dict[str, Fraction]) -> dict[str, int]:
    """Largest remainder over exact quotas (Σ quotas == total): floors, then +1 by remainder, ties by key."""
    amounts = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(amounts.values())
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - amounts[k]), k))[:left]:
        amounts[k] += 1
    return amounts


def split_reference(scheme: str, reward: int, fee_bps: int, shares: Sequence[tuple[str, float, float]],
                    window_factor: float = 2.0, finder: str = "") -> Split:
    """The scheme in exact rationals from (address, d, D) newest first: each d/D is the exact Fraction."""
    fee = reward * fee_bps // BPS
    miners = reward - fee
    if scheme == "solo":
        who = finder or shares[0][0]
        return Split({who: miners} if miners else {}, fee, 0, 1)
    scores: dict[str, Fraction] = {}
    used = 0
    x = Fraction(window_factor)
    cum = Fraction(0)
    for address, d, big_d in shares:
        s = Fraction(d) if scheme == "prop" else Fraction(d) / Fraction(big_d)
        used += 1
        if scheme == "pplns" and cum + s >= x:
            scores[address] = scores.get(address, Fraction(0)) + (x - cum)
            cum = x
            break
        scores[address] = scores.get(address, Fraction(0)) + s
        cum += s
    total = x if scheme == "pplns" else cum
    if total == 0:
        return Split({}, fee, miners, used)
    quotas = {a: miners * s / total for a, s in scores.items() if s > 0}
    if total > cum:
        quotas[_POOL_KEY] = miners * (total - cum) / total
    amounts = hamilton_reference(miners, quotas)
    remainder = amounts.pop(_POOL_KEY, 0)
    return Split({a: v for a, v in amounts.items() if v > 0}, fee, remainder, used)
