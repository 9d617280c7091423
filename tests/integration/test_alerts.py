"""Alerts on the real chDB: shares and telemetry inserted as the pipeline stores them, the evaluator driven by
its clock. A fast worker that stops alerts within its bound (the floor) and clears when it shares again; a slow
worker is judged by its own interval (no alarm after 20 silent minutes, an alarm after 2 h); over-temperature
and fan failure per device; an unprofitable rig (stubbed rig figures); one open alert per condition; the
gauge; and the webhook dispatcher: signed, retried with backoff after a 500 (also across a restart)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from clickhouse_connect.driver.client import Client
from prometheus_client import CollectorRegistry

from jobs.alert_notify import NotifyJob
from jobs.alert_rules import OFFLINE_FLOOR_S, RigProfit, Thresholds
from jobs.alerts import AlertsJob, active_gauge
from notify.outbox import Backoff
from schemas.alerts import ALERT_COLUMNS, Alert, alert_from_row
from schemas.clock import FixedClock
from tests.support_webhook import webhook_receiver

pytestmark = pytest.mark.integration

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
SECRET = "test-webhook-secret"
SHARE_COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]
TELEMETRY_COLUMNS = ["ts", "miner", "worker", "device_class", "device_id", "model", "hashrate", "temperature_c",
                     "fan_rpm", "power_w", "src_topic", "src_partition", "src_offset", "ingested_at"]


def add_shares(ch: Client, worker: str, times: list[dt.datetime], difficulty: float = 1.0) -> None:
    ch.insert("shares", [[t, "sha256d", MINER, worker, difficulty, "accepted", "asic"] for t in times],
              column_names=SHARE_COLUMNS)


def add_readings(ch: Client, worker: str, device: str, at: dt.datetime, temps: list[float], fan: float) -> None:
    rows = [[at - dt.timedelta(seconds=30 * i), MINER, worker, "gpu", device, "RTX", 5e7, t, fan, 200.0, "telemetry",
             0, i, at] for i, t in enumerate(temps)]
    ch.insert("telemetry", rows, column_names=TELEMETRY_COLUMNS)


def alerts(ch: Client) -> list[Alert]:
    rows = ch.query(f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL ORDER BY opened_at, kind, worker").result_rows
    return [alert_from_row(r) for r in rows]


def gauge_value(registry: CollectorRegistry, kind: str) -> float:
    return registry.get_sample_value("poolstream_alerts_active", {"kind": kind}) or 0.0


def test_offline_bound_slow_worker_and_clear(clickhouse: Client) -> None:
    # fast: a share every 10 s for 2 h (bound = the floor); slow: every 15 min for a day (bound 7 × 15 min)
    add_shares(clickhouse, "fast", [T0 - dt.timedelta(seconds=10 * i) for i in range(720)])
    add_shares(clickhouse, "slow", [T0 - dt.timedelta(minutes=20 + 15 * i) for i in range(96)], difficulty=5e4)
    clock = FixedClock(T0)
    registry = CollectorRegistry()
    job = AlertsJob(clickhouse, Thresholds(), clock=clock, gauge=active_gauge(registry))

    assert job.run_once().opened == []  # fast shared 0 s ago; slow has been silent 20 min, far inside 105 min
    clock.advance(OFFLINE_FLOOR_S - 10)
    assert job.run_once().opened == []
    clock.advance(20)  # fast silent 130 s > its 120 s bound
    run = job.run_once()
    assert [(a.kind, a.worker) for a in run.opened] == [("worker_offline", "fast")]
    assert run.opened[0].value == pytest.approx(130, abs=1) and run.opened[0].threshold == OFFLINE_FLOOR_S
    assert gauge_value(registry, "worker_offline") == 1
    clock.advance(30)
    assert job.run_once().opened == []  # still offline: no second alert
    assert len([a for a in alerts(clickhouse) if a.worker == "fast"]) == 1

    add_shares(clickhouse, "fast", [clock.now()])  # it is back
    clock.advance(5)
    run = job.run_once()
    assert [(a.kind, a.worker) for a in run.cleared] == [("worker_offline", "fast")]
    (fast,) = [a for a in alerts(clickhouse) if a.worker == "fast"]
    assert fast.cleared_at == clock.now() and fast.opened_at == T0 + dt.timedelta(seconds=130)
    assert gauge_value(registry, "worker_offline") == 0

    clock.advance(2 * 3600)  # slow: silent 2 h 20 min > 7 × 15 min
    opened = job.run_once().opened
    assert ("worker_offline", "slow") in [(a.kind, a.worker) for a in opened]
    slow = next(a for a in opened if a.worker == "slow")
    assert slow.threshold == pytest.approx(7 * 900, rel=0.05)


def test_hardware_and_profit_alerts_open_once_and_clear(clickhouse: Client) -> None:
    clock = FixedClock(T0)
    losing = {"rig": -0.3}
    job = AlertsJob(clickhouse, Thresholds(), clock=clock,
                    profits=lambda now_ms: [RigProfit(MINER, w, p, "USD") for w, p in losing.items()])
    add_readings(clickhouse, "rig", "gpu0", T0, [91.0, 92.0, 90.0, 93.0], fan=0.0)  # hot, fan stopped
    add_readings(clickhouse, "rig", "gpu1", T0, [60.0, 61.0, 60.0], fan=1500.0)
    run = job.run_once()
    assert sorted((a.kind, a.device_id) for a in run.opened) == [
        ("fan_failure", "gpu0"), ("over_temperature", "gpu0"), ("unprofitable", "")]
    hot = next(a for a in run.opened if a.kind == "over_temperature")
    assert (hot.value, hot.threshold, hot.severity) == (91.5, 85.0, "critical")
    clock.advance(30)
    assert job.run_once().opened == []  # same conditions: nothing new

    def broken(now_ms: int) -> list[RigProfit]:
        raise RuntimeError("ledger unreachable")

    working, job.profits = job.profits, broken
    assert job.run_once().cleared == []  # rig figures failed: the unprofitable alert is held, not cleared
    job.profits = working

    clock.advance(400)  # the old readings leave the 5-minute window; the fan spins again, the GPU cools
    add_readings(clickhouse, "rig", "gpu0", clock.now(), [70.0, 71.0, 70.0], fan=2000.0)
    losing["rig"] = 0.2
    run = job.run_once()
    assert sorted(a.kind for a in run.cleared) == ["fan_failure", "over_temperature", "unprofitable"]
    assert all(a.cleared_at is not None for a in alerts(clickhouse))


def test_webhook_signed_and_retried_after_500_across_a_restart(clickhouse: Client) -> None:
    add_shares(clickhouse, "w1", [T0 - dt.timedelta(seconds=10 * i) for i in range(100)])
    clock = FixedClock(T0 + dt.timedelta(seconds=OFFLINE_FLOOR_S + 30))
    evaluator = AlertsJob(clickhouse, Thresholds(), clock=clock)
    (opened,) = evaluator.run_once().opened
    backoff = Backoff(base_s=10, cap_s=60, max_attempts=5)
    with webhook_receiver(SECRET, script=[500]) as hook:
        notify = NotifyJob(clickhouse, [hook.url], SECRET, clock=clock, backoff=backoff)
        first = asyncio.run(notify.run())
        assert first.enqueued == 1 and [d.state for d in first.attempted] == ["pending"]
        assert first.attempted[0].last_status == 500
        assert first.attempted[0].next_attempt_at == clock.now() + dt.timedelta(seconds=10)
        assert asyncio.run(notify.run()).attempted == []  # not due yet, and nothing enqueued twice

        clock.advance(11)
        restarted = NotifyJob(clickhouse, [hook.url], SECRET, clock=clock, backoff=backoff)  # a new process
        second = asyncio.run(restarted.run())
        assert second.enqueued == 0 and [d.state for d in second.attempted] == ["delivered"]
        assert [r.status for r in hook.received] == [500, 200]
        assert all(r.signature_ok for r in hook.received)
        assert hook.received[0].body == hook.received[1].body
        body = hook.received[1].json
        assert body["event"] == "alert.opened" and body["alert"]["id"] == opened.id
        assert body["alert"]["status"] == "open" and body["alert"]["kind"] == "worker_offline"
        assert int(hook.received[1].headers["X-Poolstream-Timestamp"]) == int(clock.now().timestamp())

        add_shares(clickhouse, "w1", [clock.now()])
        clock.advance(5)
        assert [a.id for a in evaluator.run_once().cleared] == [opened.id]
        third = asyncio.run(restarted.run())
        assert [d.event for d in third.attempted] == ["alert.cleared"] and third.attempted[0].state == "delivered"
        cleared = hook.received[2]
        assert cleared.signature_ok and json.loads(cleared.body)["alert"]["cleared_at"] is not None
    attempts = clickhouse.query("SELECT status FROM alert_delivery_attempts ORDER BY at, status").result_rows
    assert [int(s) for (s,) in attempts] == [500, 200, 200]
