"""Mining contributions (issue 11): poolstream's `mining` contribution type, recorded from the pool's measured
work. The mining job (jobs/sfr_mining.py) measures each closed settlement period and calls `settle`; this
module records one contribution per (participant, algorithm, period) through api/rewards/contributions.py (the
table's writer), acting as `sfr-jobs` with the SYSTEM role.

Contract:
- `await unsettled(ctx, periods)` -> those of `periods` not settled yet;
- `await settle(ctx, period, works, summary)` settles one period as a run of api/rewards/batch_runs.py (run key
  `mining:<period start ISO>`, batch id `mining_YYYYMMDDHH`): once it succeeded it is final; a rerun after a
  failure records only the participants whose record is missing (found by `referenceId`), so no participant
  ever has two records for one period. A participant registered after its period settled gets none for it.
- The score is kernels.sfr's `mining_work` rule: 10 × minerDifficulty / poolDifficulty, floored to 4 places,
  where the pool's work counts every miner of the algorithm, registered as a participant or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from api.rewards.batch_runs import JOBS_CALLER, BatchRun, run_once, settled
from api.rewards.context import RewardsContext
from api.rewards.contributions import ContributionIn, create_contribution
from schemas.sfr import ActivityType, ContributionType
from schemas.sfr_mining import REFERENCE_TYPE, MiningWork, iso

Period = tuple[dt.datetime, dt.datetime]
_EXISTING = ("SELECT reference_id, contribution_id FROM reward_contributions FINAL "
             "WHERE reference_type = {t:String} AND reference_id IN {r:Array(String)}")


def run_key(start: dt.datetime) -> str:
    return f"mining:{iso(start)}"


async def unsettled(ctx: RewardsContext, periods: Sequence[Period]) -> list[Period]:
    done = await settled(ctx, [run_key(start) for start, _ in periods])
    return [p for p in periods if run_key(p[0]) not in done]


async def _record(ctx: RewardsContext, works: Sequence[MiningWork], summary: dict[str, Any]) -> dict[str, Any]:
    found = {str(r): int(c) for r, c in await ctx.db.rows(
        _EXISTING, {"t": REFERENCE_TYPE, "r": [w.reference_id for w in works]})} if works else {}
    created: list[dict[str, Any]] = []
    for work in works:
        if work.reference_id in found:
            continue
        record = await create_contribution(ctx, JOBS_CALLER, "", ContributionIn(
            contribution_type=ContributionType.MINING, activity_type=ActivityType.MINING_WORK,
            reference_id=work.reference_id, reference_type=REFERENCE_TYPE, metrics=work.metrics(),
            activity_date=work.period_start, user_id=work.user_id), source="mining_job")
        created.append({"contributionRecordId": record.contribution_record_id, "userId": work.user_id,
                        "participantId": work.participant_id, "algorithm": work.algorithm,
                        "contributionScore": record.contribution_score})
    return {**summary, "created": len(created), "alreadyRecorded": len(works) - len(created),
            "contributions": created}


async def settle(ctx: RewardsContext, period: Period, works: Sequence[MiningWork],
                 summary: dict[str, Any]) -> BatchRun:
    """Record the period's mining contributions (see the module contract); returns its run."""
    start, end = period
    run, _ = await run_once(ctx, JOBS_CALLER, "", "mining", run_key(start), f"mining_{start:%Y%m%d%H}",
                            [("contributions", lambda: _record(ctx, works, summary))],
                            period={"from": iso(start), "to": iso(end)})
    return run
