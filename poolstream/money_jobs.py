"""Wiring of the money jobs beside `credits` and `maturity`: PPS / FPPS per-share crediting and the money gauges."""

from __future__ import annotations

from collections.abc import Callable

from clickhouse_connect.driver.client import Client

from jobs.money_metrics import MoneyMetricsJob, default_gauges
from jobs.pps import PpsJob
from jobs.scheduler import IntervalJob
from poolstream.settings import Settings
from sources.simulate.blocks import DEFAULT_SUBSIDY, SUBSIDY


def subsidy(code: str) -> int:
    """The expected block subsidy of coin `code` in base units (the simulator's table)."""
    return SUBSIDY.get(code, DEFAULT_SUBSIDY)


def pps_job(settings: Settings, client: Client, shares_caught_up: Callable[[], bool] | None) -> PpsJob:
    return PpsJob(client, settings.topics.shares, coins=settings.coins.coins, subsidy=subsidy,
                  fpps_fee_bps=settings.coins.fpps_fee_bps, shares_caught_up=shares_caught_up,
                  interval_s=settings.chain.credits_interval_s)


def money_jobs(settings: Settings, client: Client, shares_caught_up: Callable[[], bool] | None) -> list[IntervalJob]:
    """The scheduler's money jobs besides `credits` and `maturity`: `pps` and `money_metrics`."""
    return [pps_job(settings, client, shares_caught_up),
            MoneyMetricsJob(client, default_gauges(), interval_s=settings.chain.credits_interval_s)]
