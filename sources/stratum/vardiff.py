"""Variable difficulty for one connection: steer the share interval toward a target (MiningCore style).

Pure and clock-free: callers pass the time in seconds (monotonic). Shares are counted by the verdicts of
the connection's submits, silence by the gateway's sweep; the session applies a new difficulty by sending
`mining.set_difficulty` followed by a `mining.notify` under a fresh job_id, so it takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_STEP = 8.0  # one retarget moves the difficulty by at most this factor either way


@dataclass(frozen=True)
class VardiffPolicy:
    target_s: float
    retarget_s: float
    variance: float
    min_difficulty: float
    max_difficulty: float

    @property
    def burst_shares(self) -> int:
        """Retarget early once this many shares arrived (a miner far too fast for its difficulty)."""
        return max(8, int(2 * self.retarget_s / self.target_s))

    @property
    def idle_s(self) -> float:
        """With no share for this long, the difficulty is too high."""
        return max(self.retarget_s, 2 * self.target_s)


class Vardiff:
    """Counts shares since the last retarget and proposes a new difficulty when the pace is off."""

    __slots__ = ("policy", "difficulty", "_since", "_count", "_burst", "_retarget_s")

    def __init__(self, policy: VardiffPolicy, difficulty: float, now: float) -> None:
        self.policy = policy
        self._burst = policy.burst_shares
        self._retarget_s = policy.retarget_s
        self.difficulty = self._clamp(difficulty)
        self._since = now
        self._count = 0.0

    def _clamp(self, d: float) -> float:
        return min(max(d, self.policy.min_difficulty), self.policy.max_difficulty)

    def retune(self, policy: VardiffPolicy) -> None:
        """Follow a new policy from the next share on (the live vardiff target of PUT /admin/config)."""
        self.policy = policy
        self._burst = policy.burst_shares
        self._retarget_s = policy.retarget_s

    def reset(self, difficulty: float, now: float) -> None:
        self.difficulty = self._clamp(difficulty)
        self._since = now
        self._count = 0.0

    def on_share(self, now: float, weight: float = 1.0) -> float | None:
        """Record an accepted share; returns the new difficulty if it should change, else None.

        `weight` is the share's credited difficulty over the current one (< 1 for a share of a job sent
        before a raise, which the miner may still be working on), so such shares do not trigger another
        raise as if they had been found at the new difficulty.
        """
        self._count += weight
        elapsed = now - self._since
        if elapsed < self._retarget_s and self._count < self._burst:
            return None
        return self._retarget(max(elapsed, 1e-6) / self._count, now)

    def on_tick(self, now: float) -> float | None:
        """Periodic check: with no share for a whole window the miner is too slow for its difficulty."""
        elapsed = now - self._since
        if self._count or elapsed < self.policy.idle_s:
            return None
        # No share in `elapsed` seconds: the true interval is at least that long.
        return self._retarget(elapsed, now)

    def _retarget(self, interval: float, now: float) -> float | None:
        p = self.policy
        self._since = now
        self._count = 0.0
        if abs(interval - p.target_s) <= p.variance * p.target_s:
            return None
        factor = min(max(p.target_s / interval, 1 / MAX_STEP), MAX_STEP)
        new = self._clamp(self.difficulty * factor)
        if new == self.difficulty:
            return None
        self.difficulty = new
        return new
