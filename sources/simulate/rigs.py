"""Failing rigs of a simulation: which workers fail, how, from when, and what that does to their hashrate.

Kinds (cycled in this order, `--failing-rigs N`, at most half the fleet): `hot_gpu` (a GPU if the fleet has
one: its temperature climbs past its class's throttle limit, then it throttles: hashrate and shares fall to
`THROTTLED`), `fan_failure` (fan rpm 0 from the onset, temperature rising; hashrate unchanged), `offline`
(shares and telemetry stop at the onset), `unprofitable` (draws `UNPROFITABLE_POWER` times its class's
power for its hashrate, all along). Onsets fall in the first half of the window, so the failure is visible
before it ends. A worker's hashrate multiplier m(t) is piecewise constant (`RateProfile`); shares follow it
(`ShareGenerator` draws a failing worker's count from ∫m and places its arrivals by m), and the report's
true hashrates are the window averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sources.simulate.fleet import GPU, Fleet

KINDS: tuple[str, ...] = ("hot_gpu", "fan_failure", "offline", "unprofitable")
THROTTLED = 0.4  # a throttled GPU's share of its hashrate
UNPROFITABLE_POWER = 4.0  # an unprofitable rig's power, in multiples of its class's for that hashrate
CLIMB_FRACTION = 0.3  # a hot GPU reaches its limit this fraction of the window after the onset


@dataclass(frozen=True)
class FailingRig:
    worker: int  # fleet worker index
    kind: str  # one of KINDS
    onset_ms: int  # when the failure starts (for `hot_gpu`, when the temperature starts climbing)
    limit_ms: int  # `hot_gpu`: when it passes its limit and throttles; others: = onset_ms


def pick_failing(fleet: Fleet, count: int, rng: np.random.Generator, start_ms: int, window_ms: int) -> list[FailingRig]:
    """`count` failing workers (at most half the fleet), kinds cycled through KINDS, distinct workers."""
    count = min(count, fleet.size // 2)
    order = rng.permutation(fleet.size)
    gpus = [int(w) for w in order if fleet.worker_class[w] == GPU]
    taken: set[int] = set()
    out = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        pool = [w for w in gpus if w not in taken] if kind == "hot_gpu" else []
        worker = pool[0] if pool else next(int(w) for w in order if int(w) not in taken)
        taken.add(worker)
        onset = start_ms if kind == "unprofitable" else start_ms + int(window_ms * rng.uniform(0.15, 0.35))
        limit = onset + int(window_ms * CLIMB_FRACTION) if kind == "hot_gpu" else onset
        out.append(FailingRig(worker, kind, onset, limit))
    return out


@dataclass(frozen=True, eq=False)
class RateProfile:
    """Each failing worker's hashrate multiplier: 1 before `change_ms`, `after` from it (1 for kinds whose
    hashrate does not change)."""

    workers: np.ndarray  # fleet worker indices whose rate changes
    change_ms: np.ndarray  # when
    after: np.ndarray  # the multiplier from then on

    @classmethod
    def of(cls, rigs: list[FailingRig]) -> RateProfile:
        changing = [(r.worker, r.limit_ms, THROTTLED if r.kind == "hot_gpu" else 0.0)
                    for r in rigs if r.kind in ("hot_gpu", "offline")]
        return cls(np.array([w for w, _, _ in changing], dtype=np.int64),
                   np.array([t for _, t, _ in changing], dtype=np.int64),
                   np.array([a for _, _, a in changing], dtype=np.float64))

    def __len__(self) -> int:
        return len(self.workers)

    def integral_ms(self, lo: int | np.ndarray, hi: int | np.ndarray) -> np.ndarray:
        """∫ m dt over [lo, hi) per changing worker, in ms (lo, hi: scalars or per-worker arrays)."""
        lo_a = np.broadcast_to(np.asarray(lo, dtype=np.float64), self.change_ms.shape)
        hi_a = np.broadcast_to(np.asarray(hi, dtype=np.float64), self.change_ms.shape)
        before = np.clip(np.minimum(hi_a, self.change_ms) - lo_a, 0, None)
        after = np.clip(hi_a - np.maximum(lo_a, self.change_ms), 0, None)
        out: np.ndarray = before + self.after * after
        return out

    def multiplier(self, worker: np.ndarray, ts_ms: np.ndarray) -> np.ndarray:
        """m(t) for each (worker, ts) pair (1 for the workers whose rate does not change)."""
        out = np.ones(len(worker))
        for w, change, after in zip(self.workers.tolist(), self.change_ms.tolist(), self.after.tolist(), strict=True):
            out[(worker == w) & (ts_ms >= change)] = after
        return out

    def place(self, index: int, u: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Arrival times in [lo, hi) of the `index`-th changing worker, from uniforms `u`: inverse of ∫m."""
        change, after = int(self.change_ms[index]), float(self.after[index])
        knots = np.array([lo, min(max(change, lo), hi), hi], dtype=np.float64)
        weights = np.array([knots[1] - knots[0], (knots[2] - knots[1]) * after])
        cumulative = np.concatenate([[0.0], np.cumsum(weights)])
        target = u * cumulative[-1]
        first = target < cumulative[1]
        ts = np.where(first, knots[0] + target,
                      knots[1] + (target - cumulative[1]) / (after if after > 0 else 1.0))
        placed: np.ndarray = np.minimum(np.floor(ts).astype(np.int64), hi - 1)
        return placed

    def split(self, p: float, lo: int, hi: int, end_ms: int, size: int) -> np.ndarray:
        """Each worker's chance that one of its remaining shares falls in [lo, hi): `p` (the slice's share of
        the remaining time), or for a changing worker the slice's share of its remaining ∫m."""
        out = np.full(size, p)
        rest = self.integral_ms(lo, end_ms)
        out[self.workers] = np.divide(self.integral_ms(lo, hi), rest, out=np.ones_like(rest), where=rest > 0)
        capped: np.ndarray = np.minimum(out, 1.0)
        return capped

    def place_all(self, worker: np.ndarray, uniform: np.ndarray, ts: np.ndarray, lo: int, hi: int) -> None:
        """Rewrite, in place, the arrival times in [lo, hi) of the changing workers' shares (`worker` sorted)."""
        for index, w in enumerate(self.workers.tolist()):
            a, b = np.searchsorted(worker, w), np.searchsorted(worker, w, side="right")
            if b > a:
                ts[a:b] = self.place(index, uniform[a:b], lo, hi)

    def average(self, fleet_hashrate: np.ndarray, start_ms: int, end_ms: int) -> np.ndarray:
        """Each worker's true hashrate averaged over the window."""
        out = fleet_hashrate.astype(np.float64).copy()
        if len(self):
            out[self.workers] *= self.integral_ms(start_ms, end_ms) / max(end_ms - start_ms, 1)
        return out
