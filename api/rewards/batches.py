"""Batch processing API (seed 003 "バッチ処理API"): `POST /rewards/batch/daily` and `POST /rewards/batch/monthly`
(SYSTEM). Each runs the period's batch now (api/rewards/daily.py, monthly.py) unless it already ran, and
answers the run as recorded in `reward_batches`: its steps and their results.

Answers: 200 with the run; `alreadyRun` true when the period's run had succeeded before (its result is
answered again, nothing is rerun) or is running elsewhere (`state` running). A run with a failed step is
recorded as `failed` (the next call or scheduled look runs it again) and answered as a problem:
REWARD_007 (500) when the market price could not be fetched, else REWARD_002 (500); `details` has the
`batchId` and every step's outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, post

from api.rewards.access import SYSTEM
from api.rewards.batch_runs import FAILED, BatchRun
from api.rewards.context import RewardsContext
from api.rewards.daily import run_daily
from api.rewards.monthly import run_monthly
from api.rewards.problems import RewardError
from api.security import Principal
from schemas.sfr import RewardCode


class BatchRunOut(msgspec.Struct, frozen=True, rename="camel"):
    batch_id: str
    kind: str  # daily | monthly
    run_key: str
    state: str  # running | succeeded | failed
    already_run: bool
    attempt: int
    period: dict[str, Any]
    steps: dict[str, Any]  # step name -> {"ok": bool, ...its figures, or "code" and "error"}
    requested_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def run_out(run: BatchRun, already: bool) -> BatchRunOut:
    return BatchRunOut(run.batch_id, run.kind, run.run_key, run.state, already, int(run.result.get("attempt", 1)),
                       dict(run.result.get("period", {})), dict(run.result.get("steps", {})), run.requested_by,
                       run.started_at, run.finished_at)


def answer(run: BatchRun, already: bool) -> BatchRunOut:
    """The run, or its failure as a problem (module docstring)."""
    out = run_out(run, already)
    if run.state == FAILED:
        codes = run.failed_codes()
        code = RewardCode.MARKET_PRICE_UNAVAILABLE if RewardCode.MARKET_PRICE_UNAVAILABLE in codes \
            else RewardCode.CALCULATION_FAILED
        failed = ", ".join(name for name, step in out.steps.items() if not step.get("ok"))
        raise RewardError(code, f"the {run.kind} batch {run.batch_id} failed at: {failed}; it runs again at the next "
                                "call or scheduled look", batchId=run.batch_id, state=run.state, steps=out.steps)
    return out


class BatchesController(Controller):
    path = "/batch"
    tags = ["rewards"]

    @post("/daily", status_code=200, guards=SYSTEM,
          summary="Run today's daily batch: market price, holding incentives, factor adjustment (SYSTEM)")
    async def daily(self, rewards: RewardsContext, caller: Principal, request: Request[Any, Any, Any]) -> BatchRunOut:
        return answer(*await run_daily(rewards, caller, request.client.host if request.client else ""))

    @post("/monthly", status_code=200, guards=SYSTEM,
          summary="Run the closed month's batch: statistics, archive, limit reset (SYSTEM)")
    async def monthly(self, rewards: RewardsContext, caller: Principal,
                      request: Request[Any, Any, Any]) -> BatchRunOut:
        return answer(*await run_monthly(rewards, caller, request.client.host if request.client else ""))
