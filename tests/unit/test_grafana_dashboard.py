"""The provisioned Grafana dashboard (infra/grafana) queries only metrics poolstream defines."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "poolstream.json"
PACKAGES = ("schemas", "bus", "kernels", "sinks", "sources", "streams", "api", "jobs", "notify", "poolstream")
#: what prometheus_client appends to a defined name: counters `_total`, histograms `_bucket/_sum/_count`
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def defined_metrics() -> set[str]:
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"[\"'](poolstream_[a-z0-9_]+)[\"']", path.read_text()))
    return names


def queried_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs, "the dashboard has no queries"
    return {m for e in exprs for m in re.findall(r"\bpoolstream_[a-z0-9_]+", e)}


def exists(name: str, defined: set[str]) -> bool:
    if name in defined:
        return True
    return any(name.endswith(s) and (name.removesuffix(s) in defined or name.removesuffix(s) + "_total" in defined)
               for s in SUFFIXES)


def test_every_queried_metric_is_defined_in_the_code() -> None:
    defined = defined_metrics()
    assert len(defined) > 20  # the scan found the metric definitions
    missing = sorted(m for m in queried_metrics() if not exists(m, defined))
    assert missing == [], f"the dashboard queries metrics no code defines: {missing}"


def test_dashboard_covers_what_issue_13_asks() -> None:
    queried = queried_metrics()
    for needed in ("poolstream_shares_ingested_total", "poolstream_shares_rejected_total", "poolstream_consumer_lag",
                   "poolstream_sink_batch_seconds_bucket", "poolstream_stratum_connections",
                   "poolstream_api_request_seconds_bucket", "poolstream_fleet_temperature_celsius",
                   "poolstream_fleet_power_watts", "poolstream_alerts_active"):
        assert needed in queried, needed


def test_provisioning_points_at_the_dashboard_folder() -> None:
    compose = (ROOT / "infra" / "docker-compose.yml").read_text()
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in compose
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in compose
