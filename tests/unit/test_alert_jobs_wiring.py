"""The alert jobs as the runtime wires them: defaults and ALERT_* variables reach them, and webhook settings
that cannot work fail at start naming the variable."""

from __future__ import annotations

from typing import Any, cast

import pytest
from clickhouse_connect.driver.client import Client

from jobs.alert_notify import NotifyJob
from jobs.alerts import AlertsJob
from poolstream.settings import SettingsError, load
from poolstream.telemetry_jobs import alert_jobs

CLIENT = cast(Client, object())  # never queried while wiring


def jobs(env: dict[str, str]) -> dict[str, Any]:
    return {j.id: j for j in alert_jobs(load(env), CLIENT)}


def test_variables_reach_the_jobs() -> None:
    found = jobs({"ALERTS_INTERVAL_S": "15", "ALERT_OFFLINE_INTERVALS": "9", "ALERT_HASHRATE_DROP_PCT": "40",
                  "ALERT_WEBHOOK_URLS": "https://a.example/hook, http://b.example/x", "ALERT_WEBHOOK_SECRET": "k",
                  "PUSH_GATEWAY_URL": "https://push.example/send"})
    alerts, notify = found["alerts"], found["alert_notify"]
    assert isinstance(alerts, AlertsJob) and isinstance(notify, NotifyJob)
    assert alerts.interval_s == 15 and alerts.defaults.offline_intervals == 9
    assert alerts.defaults.hashrate_drop_pct == 40 and alerts.profits is not None
    assert list(notify.webhook_urls) == ["https://a.example/hook", "http://b.example/x"]
    assert notify.secret == "k" and notify.push_url == "https://push.example/send"
    assert list(jobs({})["alert_notify"].webhook_urls) == []


@pytest.mark.parametrize(("env", "named"), [
    ({"ALERT_WEBHOOK_URLS": "https://a.example/hook"}, "ALERT_WEBHOOK_SECRET"),
    ({"ALERT_WEBHOOK_URLS": "ftp://a.example", "ALERT_WEBHOOK_SECRET": "k"}, "ALERT_WEBHOOK_URLS"),
    ({"PUSH_GATEWAY_URL": "push.example"}, "PUSH_GATEWAY_URL"),
])
def test_unworkable_webhook_settings_fail_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        jobs(env)
