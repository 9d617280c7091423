"""Daily earnings per miner (GET /api/v1/miners/{address}/earnings), the money gauges and the WebSocket block
events (found, then confirmed / orphaned) on a real chDB."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from api.services.db import Db
from api.ws.feeds import BlockFeed
from jobs.money_metrics import MoneyGauges, MoneyMetricsJob
from schemas.clock import FixedClock
from schemas.rows import BLOCK_COLUMNS
from sinks.ledger import LedgerEntry, LedgerWriter

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
A = "bc1qminera0000000000000000000000000000"
B = "bc1qminerb0000000000000000000000000000"


def ms(days_ago: int, hours: int = 0) -> int:
    return int((NOW - dt.timedelta(days=days_ago, hours=hours)).timestamp() * 1000)


class Probe:
    async def check(self) -> HealthReport:
        up = ComponentHealth(ok=True, latency_ms=0)
        return HealthReport(ok=True, kafka=up, clickhouse=up, consumer_lag=[])


@pytest.fixture()
def ledger(clickhouse: Client) -> Client:
    LedgerWriter(clickhouse).write([
        LedgerEntry("credit:h1:" + A, ms(0, 1), "BTC", A, "credit", 100, "h1"),
        LedgerEntry("credit:pps:BTC:1:" + A, ms(0, 2), "BTC", A, "credit", 7, ""),
        LedgerEntry("credit:h2:" + A, ms(1), "BTC", A, "credit", 50, "h2"),
        LedgerEntry("reversal:h2:" + A, ms(1), "BTC", A, "reversal", -50, "h2"),  # orphaned: nets to 0
        LedgerEntry("credit:h3:" + A, ms(2), "LTC", A, "credit", 123_456_789, "h3"),
        LedgerEntry("credit:h4:" + A, ms(40), "BTC", A, "credit", 999, "h4"),  # older than 30 days
        LedgerEntry("payout:p1:" + A, ms(0), "BTC", A, "payout", -100, payout_id="p1"),  # not an earning
        LedgerEntry("credit:h1:" + B, ms(0), "BTC", B, "credit", 5, "h1"),
        LedgerEntry("fee:h1", ms(0), "BTC", "", "fee", 3, "h1"),
    ], ms(0))
    return clickhouse


@pytest.fixture()
def api(ledger: Client) -> Iterator[TestClient[Any]]:
    deps = ApiDeps(clickhouse=ledger, clock=FixedClock(NOW), settings=ApiSettings(), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


def test_daily_earnings_per_utc_day_and_coin(api: TestClient[Any]) -> None:
    response = api.get(f"/api/v1/miners/{A}/earnings")
    assert response.status_code == 200, response.text
    assert [(e["day"], e["coin"], e["credited_base_units"], e["credited_str"]) for e in response.json()["data"]] == [
        ("2026-03-08", "LTC", 123_456_789, "1.23456789"), ("2026-03-10", "BTC", 107, "0.00000107")]
    two = api.get(f"/api/v1/miners/{A}/earnings", params={"days": 1}).json()["data"]
    assert [e["day"] for e in two] == ["2026-03-10"]
    assert len(api.get(f"/api/v1/miners/{A}/earnings", params={"days": 60}).json()["data"]) == 3
    assert api.get(f"/api/v1/miners/{A}/earnings", params={"days": 0}).status_code == 400
    assert api.get("/api/v1/miners/not-an-address!/earnings").status_code == 400


def test_money_gauges(ledger: Client) -> None:
    ledger.insert("blocks", [["h1", 1, NOW, "sha256d", "BTC", A, "w", 108, 1.0, 1.0, "found", "j", "", NOW],
                             ["h1", 1, NOW, "sha256d", "BTC", A, "w", 108, 1.0, 1.0, "confirmed", "j", "",
                              NOW + dt.timedelta(minutes=1)],
                             ["h2", 2, NOW, "sha256d", "BTC", A, "w", 50, 1.0, 1.0, "found", "j", "", NOW]],
                  column_names=BLOCK_COLUMNS)
    registry = CollectorRegistry()
    job = MoneyMetricsJob(ledger, MoneyGauges.register(registry))
    job.run_once()
    assert registry.get_sample_value("poolstream_blocks", {"status": "confirmed"}) == 1
    assert registry.get_sample_value("poolstream_blocks", {"status": "found"}) == 1
    assert registry.get_sample_value("poolstream_ledger_base_units", {"coin": "BTC", "kind": "credit"}) == 100 + 7 + 50 + 999 + 5
    assert registry.get_sample_value("poolstream_ledger_base_units", {"coin": "BTC", "kind": "payout"}) == -100
    assert registry.get_sample_value("poolstream_ledger_base_units", {"coin": "LTC", "kind": "credit"}) == 123_456_789
    ledger.insert("payouts", [["p1", "BTC", "sent", 3, [A], [100], 100, "tx", "", "job", NOW, NOW]],
                  column_names=["payout_id", "coin", "state", "version", "addresses", "amounts", "total", "tx_hash",
                                "error", "origin", "created_at", "updated_at"])
    job.run_once()
    assert registry.get_sample_value("poolstream_payouts", {"state": "sent"}) == 1


def test_block_feed_pushes_found_then_each_status_change_once(clickhouse: Client) -> None:
    clock = FixedClock(NOW)
    feed = BlockFeed(Db(clickhouse), clock)
    feed.start()

    def row(status: str, seconds: int) -> list[Any]:
        return ["h9", 9, NOW, "sha256d", "BTC", A, "w", 312_500_000, 1.0, 1.0, status, "j", "",
                NOW + dt.timedelta(seconds=seconds)]

    clickhouse.insert("blocks", [row("found", 0)], column_names=BLOCK_COLUMNS)
    assert [(b.hash, b.status) for b in asyncio.run(feed.poll())] == [("h9", "found")]
    clickhouse.insert("blocks", [row("confirmed", 2)], column_names=BLOCK_COLUMNS)
    assert [(b.hash, b.status, b.reward_base_units) for b in asyncio.run(feed.poll())] == [
        ("h9", "confirmed", 312_500_000)]
    assert asyncio.run(feed.poll()) == []
