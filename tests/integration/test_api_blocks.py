"""/blocks and the block figures of /stats against a real chDB: current status per hash, newest first, the
currency filter and the limit, exact rewards, and orphaned blocks not counted as found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from schemas.clock import FixedClock
from schemas.rows import BLOCK_COLUMNS

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
MINER = "bc1qblockfinder000000000000000000000000"
DOGE_MINER = "DBlockFinder000000000000000000000000"


def event(hash_: str, height: int, minutes_ago: int, coin: str, reward: int, status: str) -> list[Any]:
    at = NOW - dt.timedelta(minutes=minutes_ago)
    miner = DOGE_MINER if coin == "DOGE" else MINER
    return [hash_ * 64, height, at, "scrypt" if coin == "DOGE" else "sha256d", coin, miner, "w", reward, 1.0, 1.0,
            status, "j", "", at]


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[TestClient[Any]]:
    clickhouse.insert("blocks", [
        event("a", 100, 50, "BTC", 312_500_000, "found"),
        event("a", 100, 20, "BTC", 312_500_000, "confirmed"),
        event("b", 101, 40, "BTC", 312_500_000, "found"),
        event("b", 101, 5, "BTC", 312_500_000, "orphaned"),
        event("c", 5000, 30, "DOGE", 1_000_012_345_678, "found"),
        event("c", 5000, 30, "DOGE", 1_000_012_345_678, "found"),  # a replayed event: the same block
    ], column_names=BLOCK_COLUMNS)

    class Probe:
        async def check(self) -> HealthReport:
            return HealthReport(ok=True, kafka=ComponentHealth(ok=True, latency_ms=0),
                                clickhouse=ComponentHealth(ok=True, latency_ms=0), consumer_lag=[])

    deps = ApiDeps(clickhouse=clickhouse, clock=FixedClock(NOW), settings=ApiSettings(), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


def data(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_blocks_newest_first_with_their_current_status(api: TestClient[Any]) -> None:
    blocks = data(api.get("/api/v1/blocks"))
    assert [(b["hash"][0], b["status"], b["height"]) for b in blocks] == [
        ("c", "found", 5000), ("b", "orphaned", 101), ("a", "confirmed", 100)]  # by found_at, newest first
    assert blocks[2]["found_at"] == (NOW - dt.timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (blocks[0]["reward_base_units"], blocks[0]["reward_str"], blocks[0]["reward"]) == (
        1_000_012_345_678, "10000.12345678", 10000.12345678)
    assert (blocks[0]["currency"], blocks[0]["found_by"], blocks[0]["algorithm"]) == ("DOGE", DOGE_MINER, "Scrypt")


def test_currency_filter_and_limit(api: TestClient[Any]) -> None:
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?currency=BTC"))] == ["b", "a"]
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?currency=doge&limit=5"))] == ["c"]
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?limit=1"))] == ["c"]


def test_stats_count_found_blocks_and_show_the_newest(api: TestClient[Any]) -> None:
    stats = data(api.get("/api/v1/stats"))
    assert stats["blocks_found"] == 2  # a (confirmed) and c (found); b was orphaned
    assert (stats["last_block"]["hash"][0], stats["last_block"]["reward_str"]) == ("c", "10000.12345678")


def test_status_filter_and_paging(api: TestClient[Any]) -> None:
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?status=confirmed"))] == ["a"]
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?status=pending"))] == ["c"]
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?status=found&currency=BTC"))] == []
    assert [b["hash"][0] for b in data(api.get("/api/v1/blocks?status=orphaned&currency=btc"))] == ["b"]
    second = api.get("/api/v1/blocks?page=2&limit=2").json()
    assert [b["hash"][0] for b in second["data"]] == ["a"]
    assert {k: second["meta"][k] for k in ("page", "limit", "total", "total_pages")} == {
        "page": 2, "limit": 2, "total": 3, "total_pages": 2}
    bad = api.get("/api/v1/blocks?status=mature")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_REQUEST"


def test_confirmations_from_the_maturity_check_and_effort(api: TestClient[Any], clickhouse: Client) -> None:
    later = NOW - dt.timedelta(minutes=1)
    clickhouse.insert("blocks", [[*event("c", 5000, 30, "DOGE", 1_000_012_345_678, "found")[:13], later, 17]],
                      column_names=[*BLOCK_COLUMNS, "confirmations"])
    def share(minutes_ago: float, difficulty: float, status: str = "accepted", algorithm: str = "sha256d") -> list[Any]:
        return [NOW - dt.timedelta(minutes=minutes_ago), algorithm, MINER, "w", difficulty, status, "asic", "BTC"]
    clickhouse.insert("shares", [share(55, 3.0), share(45, 0.5), share(44, 9.0, "stale"), share(42, 1.5),
                                 share(41, 4.0, algorithm="scrypt"), share(10, 8.0)],
                      column_names=["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware", "coin"])
    blocks = {b["hash"][0]: b for b in data(api.get("/api/v1/blocks"))}
    assert (blocks["c"]["status"], blocks["c"]["confirmations"]) == ("found", 17)
    # a: Σd of sha256d shares before it (3.0) / D 1.0; b: since a, accepted only (0.5 + 1.5); c (scrypt): 4.0
    assert (blocks["a"]["effort"], blocks["b"]["effort"], blocks["c"]["effort"]) == (3.0, 2.0, 4.0)
