"""Wiring of the SFR rewards (issue 11): the one rewards context of the process (its lock and id allocation
cover the API's writes and the jobs' alike) and the scheduler's rewards jobs: the daily and monthly batches
and the mining contributions. `build_app` hands the context to the API and appends the jobs."""

from __future__ import annotations

import functools

from clickhouse_connect.driver.client import Client

from api.rewards import RewardsContext, RewardsSettings
from api.rewards.batch_runs import JOBS_CALLER
from api.rewards.daily import run_daily
from api.rewards.mining import settle, unsettled
from api.rewards.monthly import run_monthly
from api.services.db import Db
from jobs.scheduler import IntervalJob
from jobs.sfr_batches import SfrBatchJob
from jobs.sfr_mining import SfrMiningJob
from poolstream.settings import Settings
from schemas.clock import SystemClock


def rewards_settings(settings: Settings) -> RewardsSettings:
    s = settings.sfr
    return RewardsSettings(user_per_min=s.rate_user_per_min, admin_per_min=s.rate_admin_per_min,
                           test_endpoints=s.test_endpoints, market_price_url=s.market_price_url,
                           market_price_timeout_s=s.market_price_timeout_s, target_adjust_bps=s.target_adjust_bps)


def rewards_context(settings: Settings, client: Client) -> RewardsContext:
    """The rewards context on `client` (the API's reading handle: the rewards write little)."""
    return RewardsContext(Db(client), SystemClock(), rewards_settings(settings))


def sfr_jobs(settings: Settings, ctx: RewardsContext, client: Client) -> list[IntervalJob]:
    """The daily and monthly batches and the mining job; `client` reads the minute buckets."""
    every = settings.sfr.job_interval_s
    return [
        SfrBatchJob("sfr_daily", functools.partial(run_daily, ctx, JOBS_CALLER, ""), interval_s=every),
        SfrBatchJob("sfr_monthly", functools.partial(run_monthly, ctx, JOBS_CALLER, ""), interval_s=every),
        SfrMiningJob(client, functools.partial(unsettled, ctx), functools.partial(settle, ctx), ctx.clock,
                     period_s=settings.sfr.mining_period_s, grace_s=settings.sfr.mining_grace_s, interval_s=every),
    ]
