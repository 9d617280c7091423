"""Mining contributions (issue 11): what the mining job (jobs/sfr_mining.py) measures for one participant in
one closed settlement period, and how its contribution record is named, so a rerun finds the record it made.

One record per (participant, algorithm, period): Σ difficulty is only comparable within one algorithm (a
scrypt share's difficulty is not a sha256d share's), and a payout address mines one coin, hence one
algorithm, in practice. The record's `referenceType` is `mining_period`, its `referenceId`
`<address>:<algorithm>:<period start ISO>`; its metrics carry the exact work figures as decimal strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

REFERENCE_TYPE = "mining_period"


@dataclass(frozen=True)
class MiningWork:
    """One participant's accepted work on one algorithm in one closed period."""

    user_id: str  # the participant's owner's users.user_id
    participant_id: int
    address: str  # the participant's wallet address = the shares' miner
    algorithm: str
    period_start: dt.datetime
    period_end: dt.datetime
    miner_difficulty: str  # Σ difficulty of the miner's accepted shares, exact decimal string
    pool_difficulty: str  # Σ difficulty of the pool's accepted shares on the algorithm, exact decimal string
    accepted_shares: int

    @property
    def reference_id(self) -> str:
        return reference_id(self.address, self.algorithm, self.period_start)

    def metrics(self) -> dict[str, object]:
        """The contribution record's metrics (kernels.sfr reads minerDifficulty and poolDifficulty)."""
        return {"minerDifficulty": self.miner_difficulty, "poolDifficulty": self.pool_difficulty,
                "acceptedShares": self.accepted_shares, "participantId": self.participant_id,
                "algorithm": self.algorithm, "periodStart": iso(self.period_start), "periodEnd": iso(self.period_end)}


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference_id(address: str, algorithm: str, period_start: dt.datetime) -> str:
    return f"{address}:{algorithm}:{iso(period_start)}"
