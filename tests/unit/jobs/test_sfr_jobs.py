"""The SFR jobs without ClickHouse: `measure` turns one period's work into MiningWork per registered miner and
algorithm (pool = every miner, exact sums), and the batch job reports its run's state."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from jobs.sfr_batches import SfrBatchJob
from jobs.sfr_mining import measure

DAY = dt.datetime(2025, 8, 26, tzinfo=dt.UTC)
S = int(DAY.timestamp())


def test_measure_links_registered_miners_and_counts_everyone_in_the_pool() -> None:
    work = {(S, "sha256d", "a"): (0.1, 3), (S, "sha256d", "b"): (0.2, 1), (S, "sha256d", "x"): (0.7, 9),
            (S, "scrypt", "c"): (5.0, 2), (S - 86400, "sha256d", "a"): (99.0, 1),  # another period: not this one
            (S, "sha256d", "idle"): (0.0, 0)}
    works, summary = measure((DAY, DAY + dt.timedelta(days=1)), work, {"a": (1, "u-a"), "b": (2, "u-b"),
                                                                      "c": (3, "u-c"), "idle": (4, "u-i")})
    assert [(w.address, w.algorithm, w.user_id, w.participant_id, w.miner_difficulty, w.pool_difficulty,
             w.accepted_shares) for w in works] == [
        ("c", "scrypt", "u-c", 3, "5", "5", 2),
        ("a", "sha256d", "u-a", 1, "0.1", "1", 3), ("b", "sha256d", "u-b", 2, "0.2", "1", 1)]
    assert summary == {"poolDifficulty": {"scrypt": "5", "sha256d": "1"}, "miners": 4, "unregisteredMiners": 1}
    assert works[1].reference_id == "a:sha256d:2025-08-26T00:00:00Z"
    assert works[1].metrics()["periodEnd"] == "2025-08-27T00:00:00Z"


@dataclass(frozen=True)
class Run:
    batch_id: str
    state: str


def test_the_batch_job_reports_the_state_of_its_run() -> None:
    calls: list[int] = []

    async def run_batch() -> tuple[Run, bool]:
        calls.append(1)
        return Run("daily_20250826", "failed"), len(calls) > 1

    job = SfrBatchJob("sfr_daily", run_batch, interval_s=60)
    assert job.id == "sfr_daily" and job.interval_s == 60
    assert asyncio.run(job.run()) == "failed" and asyncio.run(job.run()) == "failed" and len(calls) == 2
