"""Wiring of the hardware side's scheduled jobs (issue 10), beside `money_jobs`: the telemetry rollup, the
cgminer-API poller and the alert evaluator. `build_app` appends what this returns to the scheduler's jobs."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from jobs.scheduler import IntervalJob
from poolstream.settings import Settings


def telemetry_jobs(settings: Settings, bootstrap: str, client: Client) -> list[IntervalJob]:
    """The scheduler's hardware jobs. `bootstrap` is the broker in use (the poller publishes to `telemetry`)."""
    jobs: list[IntervalJob] = []
    return jobs
