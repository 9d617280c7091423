"""The mining contributions job (issue 11): every `interval_s`, each closed settlement period (SFR_MINING_PERIOD:
hourly or daily, closed SFR_MINING_GRACE_S after its end, within the last LOOKBACK_S) not settled yet is
measured from the minute buckets and handed to the rewards side to record (api/rewards/mining.py, injected by
poolstream/sfr_jobs.py: this layer does not import the API).

Measure of one period and algorithm: each miner address's Σ difficulty of accepted shares (shares_1m
`sum_difficulty`, which counts accepted shares only) and the pool's, the exact sum over every miner
(kernels.sfr_batch.work_metrics). A miner address that is an active participant's wallet (participants,
migration 0008; the lowest id when several) whose owner is a user (users, migration 0007) becomes one
`MiningWork` linked to that participant and user; the others count in the pool's work and in the summary only.
Idempotent: the rewards side settles a period once. A failed run is logged and the job keeps its schedule.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from kernels.sfr_batch import EPOCH, closed_periods, work_metrics
from schemas.clock import Clock
from schemas.sfr_mining import MiningWork

log = logging.getLogger(__name__)
LOOKBACK_S = 7 * 86400  # shares_1m keeps 14 days
Period = tuple[dt.datetime, dt.datetime]
#: (period start s, algorithm, miner) -> (Σ difficulty, accepted shares)
Work = dict[tuple[int, str, str], tuple[float, int]]
Unsettled = Callable[[list[Period]], Awaitable[list[Period]]]
Settle = Callable[[Period, list[MiningWork], dict[str, Any]], Awaitable[Any]]

_WORK = ("SELECT intDiv(toUInt32(bucket), {p:UInt32}) * {p:UInt32} AS period, algorithm, miner, "
         "sum(sum_difficulty), sum(accepted) FROM shares_1m "
         "WHERE bucket >= toDateTime({lo:UInt32}, 'UTC') AND bucket < toDateTime({hi:UInt32}, 'UTC') "
         "GROUP BY period, algorithm, miner")
_OWNERS = ("SELECT p.id, p.ton_wallet_address, u.user_id "
           "FROM (SELECT id, ton_wallet_address, owner FROM participants FINAL WHERE is_active = 1) AS p "
           "INNER JOIN (SELECT username, user_id FROM users FINAL WHERE disabled = 0) AS u ON p.owner = u.username "
           "ORDER BY p.id")


def _s(at: dt.datetime) -> int:
    return int((at - EPOCH).total_seconds())


def measure(period: Period, work: Work, owners: dict[str, tuple[int, str]]) -> tuple[list[MiningWork], dict[str, Any]]:
    """The period's MiningWork per participant and algorithm, and a summary (pool work, unregistered miners)."""
    start, end = period
    by_algorithm: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
    for (period_s, algorithm, miner), figures in work.items():
        if period_s == _s(start):
            by_algorithm[algorithm][miner] = figures
    works: list[MiningWork] = []
    summary: dict[str, Any] = {"poolDifficulty": {}, "miners": 0, "unregisteredMiners": 0}
    for algorithm, miners in sorted(by_algorithm.items()):
        mine, pool = work_metrics({m: d for m, (d, _) in miners.items()})
        summary["poolDifficulty"][algorithm] = pool
        for miner, difficulty in sorted(mine.items()):
            summary["miners"] += 1
            owner = owners.get(miner)
            if owner is None:
                summary["unregisteredMiners"] += 1
                continue
            works.append(MiningWork(owner[1], owner[0], miner, algorithm, start, end, difficulty, pool,
                                    int(miners[miner][1])))
    return works, summary


class SfrMiningJob:
    """Settles closed mining periods into mining contributions (module docstring)."""

    id = "sfr_mining"

    def __init__(self, client: Client, unsettled: Unsettled, settle: Settle, clock: Clock, *, period_s: int,
                 grace_s: float, interval_s: float = 600.0, lookback_s: int = LOOKBACK_S) -> None:
        self.client = client
        self.unsettled = unsettled
        self.settle = settle
        self.clock = clock
        self.period_s = period_s
        self.grace_s = grace_s
        self.interval_s = interval_s
        self.lookback_s = lookback_s

    def work(self, lo: dt.datetime, hi: dt.datetime) -> Work:
        rows = self.client.query(_WORK, parameters={"p": self.period_s, "lo": _s(lo), "hi": _s(hi)}).result_rows
        return {(int(p), str(a), str(m)): (float(d), int(n)) for p, a, m, d, n in rows}

    def owners(self) -> dict[str, tuple[int, str]]:
        """wallet address -> (participant id, user id); the lowest participant id wins."""
        found: dict[str, tuple[int, str]] = {}
        for pid, address, user_id in self.client.query(_OWNERS).result_rows:
            found.setdefault(str(address), (int(pid), str(user_id)))
        return found

    async def run(self) -> int:
        """Settle every closed, unsettled period; returns how many were settled."""
        periods = closed_periods(self.clock.now(), self.period_s, self.grace_s, self.lookback_s)
        todo: Sequence[Period] = await self.unsettled(periods) if periods else []
        if not todo:
            return 0
        work = await asyncio.to_thread(self.work, todo[0][0], todo[-1][1])
        owners = await asyncio.to_thread(self.owners)
        for period in todo:
            works, summary = measure(period, work, owners)
            await self.settle(period, works, summary)
        log.info("sfr mining: %d period(s) settled", len(todo))
        return len(todo)
