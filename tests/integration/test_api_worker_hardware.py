"""GET /workers/{id}/metrics, /workers/{id}/stats and /monitoring/hardware (issue 10 additions) against a real
chDB: a registered worker, telemetry_1m / telemetry / shares / prices rows inserted directly, the answers
checked field by field against values computed here from the same rows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, create_app
from api.settings import ApiSettings
from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.clock import FixedClock
from schemas.coins import CoinSettings
from schemas.telemetry_settings import TelemetrySettings
from sinks.rig_figures import RigSettings
from tests.integration.test_api_workers import ALICE_WALLET, BOB_WALLET, PORTS, Api, Probe, participant
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOW = TODAY + dt.timedelta(hours=12, seconds=20)
SUBSIDY = 312_500_000
TELEMETRY_1M = ["minute", "miner", "worker", "device_class", "device_id", "model", "readings", "temperature_avg",
                "temperature_max", "fan_rpm_avg", "fan_pct_avg", "power_avg_w", "hashrate_avg", "utilization_avg",
                "hardware_errors", "computed_at"]
RAW = ["ts", "miner", "worker", "device_class", "device_id", "model", "hashrate", "temperature_c", "power_w",
       "src_topic", "src_partition", "src_offset", "ingested_at"]
SHARES = ["ts", "algorithm", "miner", "worker", "difficulty", "network_difficulty", "status", "hardware", "coin"]


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    clock = FixedClock(NOW)
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("bob", "write"))}
    rigs = RigSettings.of(TelemetrySettings(electricity_price_kwh=0.1, site_electricity_prices="paris=0.2"),
                          CoinSettings(), lambda _: SUBSIDY)
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=ApiSettings(stratum_ports=PORTS), health=Probe(),
                   rigs=rigs)
    fill(clickhouse)  # before the app: its pool snapshot is computed at start
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


def fill(ch: Client) -> None:
    rows = []
    for m in range(60):  # 11:00..11:59, two hash boards
        minute = TODAY + dt.timedelta(hours=11, minutes=m)
        for board, t in (("0", 70.0), ("1", 74.0)):
            rows.append([minute, ALICE_WALLET, "rig1", "ASIC", board, "S19", 6, t, t + 1, 5000.0, 60.0, 1600.0,
                         50e12, None, 1 if m == 42 else 0, NOW])
    ch.insert("telemetry_1m", rows, column_names=TELEMETRY_1M)
    raw = [[NOW - dt.timedelta(minutes=2), ALICE_WALLET, "rig1", "ASIC", b, "S19", 50e12, t, 1600.0, "t", 0, i, NOW]
           for i, (b, t) in enumerate((("0", 70.0), ("1", 74.0)))]
    ch.insert("telemetry", raw, column_names=RAW)
    shares = [[NOW - dt.timedelta(minutes=k), "sha256d", ALICE_WALLET, "rig1", 2048.0, float(2**20), "accepted",
               "asic", "BTC"] for k in (9, 7, 3)]
    ch.insert("shares", shares, column_names=SHARES)
    ch.insert("prices", [["BTC", "USD", NOW - dt.timedelta(hours=3), Decimal("50000"), "test", NOW]],
              column_names=["coin", "fiat", "ts", "price", "source", "created_at"])


def register(api: Api) -> int:
    participant(api)
    created = api.call("POST", "/workers", expect=201, json={"name": "rig1", "hardware_type": "ASIC",
                                                             "config": {"site": "paris"}})
    return int(created["id"])


def test_metrics_series_per_minute(api: Api) -> None:
    wid = register(api)
    data = api.call("GET", f"/workers/{wid}/metrics?hours=1")
    assert data["step_seconds"] == 60 and data["hours"] == 1 and len(data["points"]) == 60
    points = {p["timestamp"][:16]: p for p in data["points"]}
    p = points[(TODAY + dt.timedelta(hours=11, minutes=42)).isoformat()[:16]]
    assert p["reported_hashrate"] == 100e12 and p["power_w"] == 3200.0
    assert p["temperature_avg"] == 72.0 and p["temperature_max"] == 75.0 and p["fan_pct"] == 60.0
    assert p["hardware_errors"] == 2 and p["readings"] == 12 and p["utilization"] is None
    # the share 9 min before 12:00:20 lands in minute 11:51
    share_minute = points[(TODAY + dt.timedelta(hours=11, minutes=51)).isoformat()[:16]]
    assert share_minute["accepted_shares"] == 1
    assert share_minute["measured_hashrate"] == pytest.approx(2048 * HASHRATE_FACTOR[Algorithm.SHA256D] / 60)
    assert sum(q["accepted_shares"] for q in data["points"]) == 3  # 11:51:20, 11:53:20, 11:57:20
    long = api.call("GET", f"/workers/{wid}/metrics?hours=72")
    assert long["step_seconds"] == 3600 and len(long["points"]) == 72
    api.call("GET", f"/workers/{wid}/metrics?hours=0", expect=400)


def test_stats_efficiency_and_profit(api: Api) -> None:
    wid = register(api)
    s = api.call("GET", f"/workers/{wid}/stats")
    assert s["worker_name"] == "rig1" and s["address"] == ALICE_WALLET and s["device_class"] == "asic"
    assert s["algorithm"] == "sha256d" and s["site"] == "paris" and s["online"] is True
    assert s["efficiency_unit"] == "J/TH" and s["efficiency"] == pytest.approx(3200 / 100)
    assert s["avg_power_w"] == 3200.0 and s["hardware_errors"] == 2
    kwh = Decimal(3200 * 60) / 60_000  # 60 closed minutes in the 24 h window
    assert Decimal(s["energy_kwh"]) == kwh and s["price_kwh"] == "0.2"
    assert Decimal(s["power_cost"]) == kwh * Decimal("0.2")
    units = math.floor((SUBSIDY - SUBSIDY // 100) * Fraction(3 * 2048, 2**20))
    assert s["revenue_source"] == "pps_estimate" and s["revenue_base_units"] == units and s["coin"] == "BTC"
    assert s["revenue_str"] == f"{Decimal(units).scaleb(-8):.8f}"
    revenue = (Decimal(units).scaleb(-8) * 50000).quantize(Decimal("1e-8"))
    assert Decimal(s["revenue_fiat"]) == revenue and s["currency"] == "USD"
    assert Decimal(s["profit"]) == revenue - kwh * Decimal("0.2") and s["profit_reason"] is None
    # the other user does not see it; an empty worker has null figures, not an error
    api.call("GET", f"/workers/{wid}/stats", "bob", expect=404)
    participant(api, "bob", BOB_WALLET)
    other = api.call("POST", "/workers", "bob", expect=201, json={"name": "idle"})
    idle = api.call("GET", f"/workers/{other['id']}/stats", "bob")
    assert idle["hashrate"] == 0.0 and idle["efficiency"] is None and idle["profit"] is None


def test_monitoring_hardware_keeps_the_seed_shape_and_adds_efficiency(api: Api) -> None:
    register(api)
    hw = api.call("GET", "/monitoring/hardware")
    asic = hw["asic_miners"]
    for name in ("count", "total_hashrate", "avg_temperature", "power_consumption"):
        assert name in asic and name in hw["gpu_miners"] and name in hw["cpu_miners"]
    assert asic["count"] == 1 and asic["avg_temperature"] == 72.0 and asic["power_consumption"] == 3200.0
    [eff] = asic["efficiency"]
    assert eff["algorithm"] == "sha256d" and eff["unit"] == "J/TH" and eff["efficiency"] == pytest.approx(32.0)
    [sha] = hw["by_algorithm"]
    assert sha["algorithm"] == "sha256d" and sha["count"] == 1 and sha["power_consumption"] == 3200.0
    assert sha["total_hashrate"] == pytest.approx(asic["total_hashrate"]) and sha["total_hashrate"] > 0
    assert sha["reported_hashrate"] == 100e12 and sha["efficiency"] == pytest.approx(32.0)


def test_websocket_hardware_channel_pushes_the_fleet_figures(api: Api) -> None:
    with api.client.websocket_connect("/api/ws", headers=api.keys["alice"]) as ws:
        ws.send_json({"type": "subscribe", "channels": ["hardware"]})
        assert ws.receive_json() == {"type": "subscribed", "channels": ["hardware"]}
        push = ws.receive_json()
    assert push["type"] == "hardware"
    rest = api.call("GET", "/monitoring/hardware")
    assert push["data"]["by_algorithm"] == rest["by_algorithm"] and push["data"]["by_algorithm"]
    assert push["data"]["asic_miners"]["efficiency"][0]["unit"] == "J/TH"
