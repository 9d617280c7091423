"""Wiring of the hardware side's scheduled jobs (issue 10), beside `money_jobs`: the telemetry rollup, the
cgminer-API poller and the alert evaluator. `build_app` appends what this returns to the scheduler's jobs."""

from __future__ import annotations

import asyncio
import dataclasses

from clickhouse_connect.driver.client import Client

from api.services.telemetry_ingest import TelemetryIntake
from bus.publisher import Publisher
from jobs.alert_notify import NotifyJob
from jobs.alert_rules import Thresholds
from jobs.alerts import AlertsJob, active_gauge, rig_profits
from jobs.hardware_metrics import HardwareMetricsJob, default_gauges
from jobs.rig_figures import RigSettings
from jobs.scheduler import IntervalJob
from jobs.telemetry_rollup import TelemetryRollupJob
from poolstream.money_jobs import subsidy
from poolstream.settings import Settings, SettingsError
from schemas.clock import SystemClock
from sources.cgminer.hosts import DEFAULT_PORT, Rig, parse_hosts
from sources.cgminer.poller import CgminerPollJob


def telemetry_jobs(settings: Settings, bootstrap: str, client: Client) -> list[IntervalJob]:
    """The scheduler's hardware jobs. `bootstrap` is the broker in use (the poller publishes to `telemetry`)."""
    jobs: list[IntervalJob] = []
    jobs.append(TelemetryRollupJob(client, settings.telemetry.rollup_lookback_min,
                                   interval_s=settings.telemetry.rollup_interval_s))
    jobs += alert_jobs(settings, client)
    jobs.append(cgminer_job(settings, bootstrap, client))
    jobs.append(HardwareMetricsJob(client, default_gauges(), rig_settings(settings)))
    return jobs


def rig_settings(settings: Settings) -> RigSettings:
    """What rig figures need (jobs and the API): electricity prices (SITE_ELECTRICITY_PRICES checked here, at
    start), the coin table and the expected block subsidies."""
    try:
        return RigSettings.of(settings.telemetry, settings.coins, subsidy)
    except ValueError as e:
        raise SettingsError(str(e)) from None


def webhook_urls(settings: Settings) -> tuple[str, ...]:
    """ALERT_WEBHOOK_URLS checked: http(s) URLs, and ALERT_WEBHOOK_SECRET set when there is any."""
    t = settings.telemetry
    urls = tuple(u.strip() for u in t.webhook_urls.split(",") if u.strip())
    for url in (*urls, *([t.push_gateway_url] if t.push_gateway_url else [])):
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"ALERT_WEBHOOK_URLS / PUSH_GATEWAY_URL: not an http(s) URL: {url!r}")
    if urls and not t.webhook_secret:
        raise SettingsError("ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URLS is set (webhooks are signed)")
    return urls


def alert_jobs(settings: Settings, client: Client) -> list[IntervalJob]:
    """The alert evaluator (`alerts`) and the notification dispatcher (`alert_notify`)."""
    t = settings.telemetry
    defaults = Thresholds(offline_intervals=t.offline_intervals, hashrate_drop_pct=t.hashrate_drop_pct)
    profits = rig_profits(client, rig_settings(settings))
    return [AlertsJob(client, defaults, profits=profits, gauge=active_gauge(), interval_s=t.alerts_interval_s),
            NotifyJob(client, webhook_urls(settings), t.webhook_secret, push_url=t.push_gateway_url)]


def registered_rigs(client: Client) -> list[Rig]:
    """Registered ASIC workers with a host and an address: their cgminer API (`stats_port`, else 4028)."""
    rows = client.query(
        "SELECT host, stats_port, address, worker_name FROM workers FINAL WHERE deleted = 0 AND is_active = 1 "
        "AND hardware_type = 'asic' AND host != '' AND address != '' ORDER BY id LIMIT 10000").result_rows
    return [Rig(str(host), int(port) or DEFAULT_PORT, str(address), str(worker)) for host, port, address, worker in rows]


def cgminer_job(settings: Settings, bootstrap: str, client: Client) -> CgminerPollJob:
    """The cgminer-API poller: CGMINER_HOSTS (checked here, at start) and the registered ASIC workers."""
    t = settings.telemetry
    rigs = parse_hosts(t.cgminer_hosts)

    async def registered() -> list[Rig]:
        return await asyncio.to_thread(registered_rigs, client)

    return CgminerPollJob(rigs, Publisher(settings.publisher(bootstrap)), settings.topics.telemetry, SystemClock(),
                          interval_s=t.cgminer_interval_s, timeout_s=t.cgminer_timeout_s, registered=registered)


def telemetry_intake(settings: Settings, bootstrap: str) -> TelemetryIntake:
    """What POST /api/v1/telemetry publishes with: its own producer (no linger: a request waits for its flush)
    and the share agent's time bounds (SHARE_MAX_PAST_S / SHARE_MAX_FUTURE_S)."""
    publisher = Publisher(dataclasses.replace(settings.publisher(bootstrap), linger_ms=0))
    return TelemetryIntake(publisher, settings.topics.telemetry, max_past_s=settings.streams.max_past_s,
                           max_future_s=settings.streams.max_future_s)
