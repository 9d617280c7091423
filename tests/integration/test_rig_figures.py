"""Rig figures on a real chDB: telemetry_1m, shares, ledger, prices and registry rows inserted directly, then
`rig_figures` checked against the definitions (sinks/rig_figures.py), computed here from the same inputs."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from jobs.rig_figures import RigFigures, RigSettings, rig_figures
from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.coins import CoinSettings
from schemas.telemetry_settings import TelemetrySettings

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOW = TODAY + dt.timedelta(hours=12, seconds=20)
NOW_MS = int(NOW.timestamp() * 1000)
HOUR = 3600
BTC_MINER = "bc1qminerone000000000000000000000000000"
LTC_MINER = "ltc1qminertwo00000000000000000000000000"
SUBSIDY = {"BTC": 312_500_000, "LTC": 625_000_000}
TELEMETRY_COLUMNS = ["minute", "miner", "worker", "device_class", "device_id", "model", "readings",
                     "temperature_avg", "temperature_max", "fan_pct_avg", "power_avg_w", "hashrate_avg",
                     "utilization_avg", "memory_used_avg", "hardware_errors", "computed_at"]
SHARE_COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "network_difficulty", "status", "hardware",
                 "coin"]


def minute(hh: int, mm: int) -> dt.datetime:
    return TODAY + dt.timedelta(hours=hh, minutes=mm)


def minute_row(m: dt.datetime, miner: str, worker: str, cls: str, device: str, power: float | None,
               hashrate: float | None, t_avg: float, t_max: float, errors: int, computed: int = 0) -> list[Any]:
    return [m, miner, worker, cls, device, "m", 6, t_avg, t_max, 80.0, power, hashrate, 95.0, 2048.0, errors,
            NOW + dt.timedelta(seconds=computed)]


def settings(site_prices: str = "", price: float = 0.10) -> RigSettings:
    telemetry = TelemetrySettings(electricity_price_kwh=price, site_electricity_prices=site_prices)
    return RigSettings.of(telemetry, CoinSettings(), lambda code: SUBSIDY[code])


@pytest.fixture()
def filled(clickhouse: Client) -> Client:
    rows = []
    # BTC miner, ASIC rig1: one device, minutes 11:00..11:59; 11:00 starts before now - 1 h (11:00:20)
    for m in range(60):
        rows.append(minute_row(minute(11, m), BTC_MINER, "rig1", "ASIC", "0", 3000.0, 100e12, 70.0, 75.0 + m % 3, 1))
    # a recomputed 11:30 replaces the first row (ReplacingMergeTree on computed_at): power 3600 there
    rows.append(minute_row(minute(11, 30), BTC_MINER, "rig1", "ASIC", "0", 3600.0, 100e12, 70.0, 76.0, 1, computed=5))
    # LTC miner, GPU rig "a" with two cards for the last 10 minutes; rig "b" reports no power
    for m in range(50, 60):
        for card, t in (("0", 60.0), ("1", 66.0)):
            rows.append(minute_row(minute(11, m), LTC_MINER, "a", "GPU", card, 150.0, 500e3, t, t + 2, 0))
        rows.append(minute_row(minute(11, m), LTC_MINER, "b", "GPU", "0", None, 400e3, 50.0, 51.0, 0))
    clickhouse.insert("telemetry_1m", rows, column_names=TELEMETRY_COLUMNS)
    d, big_d = 1024.0, float(2**20)  # d/D = 2^-10, exact
    shares = [[NOW - dt.timedelta(minutes=k), "sha256d", BTC_MINER, "rig1", d, big_d, "accepted", "asic", "BTC"]
              for k in (50, 30, 10)]
    shares.append([NOW - dt.timedelta(minutes=5), "sha256d", BTC_MINER, "rig1", d, big_d, "low_difficulty", "asic",
                   "BTC"])
    shares.append([NOW - dt.timedelta(hours=2), "sha256d", BTC_MINER, "rig1", d, big_d, "accepted", "asic", "BTC"])
    shares += [[NOW - dt.timedelta(minutes=8), "scrypt", LTC_MINER, "a", 1.0, 1e6, "accepted", "gpu", "LTC"],
               [NOW - dt.timedelta(minutes=6), "scrypt", LTC_MINER, "b", 3.0, 1e6, "accepted", "gpu", "LTC"]]
    clickhouse.insert("shares", shares, column_names=SHARE_COLUMNS)
    clickhouse.insert("ledger", [["credit:x:" + LTC_MINER, NOW - dt.timedelta(minutes=30), "LTC", LTC_MINER,
                                  "credit", 1001, "x", "", "", NOW]],
                      column_names=["entry_key", "ts", "coin", "address", "kind", "amount", "block_hash",
                                    "payout_id", "reason", "created_at"])
    clickhouse.insert("prices", [["BTC", "USD", NOW - dt.timedelta(days=1), Decimal("60000.5"), "test", NOW],
                                 ["BTC", "USD", NOW + dt.timedelta(hours=1), Decimal("1"), "future", NOW]],
                      column_names=["coin", "fiat", "ts", "price", "source", "created_at"])
    clickhouse.insert("workers", [[1, BTC_MINER, "rig1", '{"site": "paris"}', 0, 1, NOW, NOW]],
                      column_names=["id", "address", "worker_name", "config", "deleted", "is_active", "created_at",
                                    "updated_at"])
    return clickhouse


def by_rig(figures: list[RigFigures]) -> dict[tuple[str, str], RigFigures]:
    return {(f.miner, f.worker): f for f in figures}


def test_btc_asic_rig_efficiency_cost_pps_revenue_and_profit(filled: Client) -> None:
    f = by_rig(rig_figures(filled, NOW_MS, HOUR, settings("paris=0.25")))[(BTC_MINER, "rig1")]
    minutes = range(1, 60)  # closed minutes starting at or after now - 1 h
    power = [3600.0 if m == 30 else 3000.0 for m in minutes]
    assert f.device_class == "asic" and f.algorithm == "sha256d" and f.coin == "BTC" and f.site == "paris"
    assert f.minutes_reported == len(minutes)
    assert f.power_w == pytest.approx(sum(power) / len(power))
    assert f.reported_hashrate == pytest.approx(100e12)
    assert f.efficiency_unit == "J/TH"
    assert f.efficiency == pytest.approx(sum(power) / len(power) / 100)
    assert f.temperature_max == 77.0 and f.temperature_avg == pytest.approx(70.0)
    assert f.hardware_errors == len(minutes)
    # measured: three accepted shares of 1024 since the first (50 min ago)
    assert f.measured_hashrate == pytest.approx(3 * 1024 * HASHRATE_FACTOR[Algorithm.SHA256D] / (50 * 60))
    kwh = Decimal(sum(int(p) for p in power)) / 60_000
    assert f.energy_kwh == kwh and f.price_kwh == Decimal("0.25")
    assert f.power_cost == (kwh * Decimal("0.25")).quantize(Decimal("1e-8"))
    reward = SUBSIDY["BTC"] - SUBSIDY["BTC"] * 100 // 10_000  # BTC default fee 1 %
    units = math.floor(Fraction(reward) * Fraction(3, 1024))
    assert f.revenue_source == "pps_estimate" and f.revenue_base_units == units
    assert f.coin_price == Decimal("60000.5")  # the newest price at or before now, not the future one
    revenue = (Decimal(units) / 10**8 * Decimal("60000.5")).quantize(Decimal("1e-8"))
    assert f.revenue_fiat == revenue and f.profit == revenue - f.power_cost and f.profit_reason is None


def test_ledger_credits_split_over_the_miners_rigs_and_missing_price_gives_null_profit(filled: Client) -> None:
    figures = by_rig(rig_figures(filled, NOW_MS, HOUR, settings()))
    a, b = figures[(LTC_MINER, "a")], figures[(LTC_MINER, "b")]
    assert (a.revenue_source, b.revenue_source) == ("ledger", "ledger")
    assert (a.revenue_base_units, b.revenue_base_units) == (1001 * 1 // 4, 1001 * 3 // 4)
    assert a.efficiency_unit == "J/MH" and a.efficiency == pytest.approx(300.0 / (1e6 / 1e6))
    assert a.power_w == 300.0 and a.temperature_max == 68.0 and a.temperature_avg == pytest.approx(63.0)
    assert a.price_kwh == Decimal("0.1") and a.site == ""
    assert a.profit is None and a.profit_reason is not None and "price" in a.profit_reason
    assert b.power_w is None and b.profit is None and b.profit_reason is not None and "power" in b.profit_reason


def test_one_rig_filter_and_an_empty_window(filled: Client) -> None:
    only = rig_figures(filled, NOW_MS, HOUR, settings(), miner=LTC_MINER, worker="b")
    assert [(f.miner, f.worker) for f in only] == [(LTC_MINER, "b")]
    assert only[0].revenue_base_units == 1001 * 3 // 4  # the split still sees the miner's other rig
    assert rig_figures(filled, NOW_MS + 30 * 86_400_000, HOUR, settings()) == []


def test_without_a_subsidy_revenue_is_unknown_not_zero(filled: Client) -> None:
    bare = RigSettings(TelemetrySettings(), CoinSettings(), None)
    f = by_rig(rig_figures(filled, NOW_MS, HOUR, bare))[(BTC_MINER, "rig1")]
    assert f.revenue_source == "unknown" and f.profit is None and f.profit_reason is not None


def test_hardware_metrics_job_sets_fleet_rig_and_seed_gauges(filled: Client) -> None:
    from prometheus_client import CollectorRegistry

    from jobs.hardware_metrics import HardwareGauges, HardwareMetricsJob
    from schemas.clock import FixedClock

    registry = CollectorRegistry()
    job = HardwareMetricsJob(filled, HardwareGauges.register(registry), settings(), clock=FixedClock(NOW))
    job.run_once()

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    # latest minute (11:59) of each device: GPU rig a's two cards at 60/66 °C, rig b's card at 50 °C
    assert value("poolstream_fleet_temperature_celsius", **{"class": "gpu", "stat": "avg"}) == pytest.approx(176 / 3)
    assert value("poolstream_fleet_temperature_celsius", **{"class": "gpu", "stat": "max"}) == 68.0
    assert value("poolstream_fleet_power_watts", **{"class": "gpu"}) == 300.0
    assert value("poolstream_fleet_power_watts", **{"class": "asic"}) == 3000.0
    assert value("poolstream_fleet_devices", **{"class": "gpu"}) == 3
    assert value("cocoon_gpu_temperature_celsius", miner=LTC_MINER, worker="a", device="1") == 66.0
    assert value("cocoon_gpu_memory_used_gb", miner=LTC_MINER, worker="a", device="0") == 2.0
    assert value("cocoon_gpu_utilization", miner=LTC_MINER, worker="a", device="0") == 95.0
    assert value("cocoon_worker_status", miner=LTC_MINER, worker="a") == 1
    assert value("cocoon_worker_status", miner=BTC_MINER, worker="rig1") == 1  # a share exactly 10 min ago
    assert value("poolstream_rig_efficiency", miner=BTC_MINER, worker="rig1", unit="J/TH") is not None
    assert value("poolstream_rig_revenue_base_units", miner=LTC_MINER, worker="b", coin="LTC") == 1001 * 3 // 4
    assert value("poolstream_rig_profit", miner=BTC_MINER, worker="rig1", currency="USD") is not None
    assert value("poolstream_rig_profit", miner=LTC_MINER, worker="a", currency="USD") is None  # no LTC price
    later = HardwareMetricsJob(filled, job.gauges, settings(), clock=FixedClock(NOW + dt.timedelta(seconds=1)))
    later.run_once()
    assert value("cocoon_worker_status", miner=BTC_MINER, worker="rig1") == 0  # now 10 min 1 s ago
