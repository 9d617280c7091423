"""What the miner page reads beyond the seed on a real chDB: each worker's latest temperature (telemetry) in
/miners/{address}/workers; /miners/{address}/blocks, the blocks the miner found or had a PPLNS credit in,
with its credit and share of each reward; and /miners (admin), the active miners by hashrate."""

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
from sinks.ledger import LedgerEntry, LedgerWriter
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
ME = "bc1qdashboardminer00000000000000000000"
OTHER = "bc1qdashboardother00000000000000000000"
TELEMETRY = ["ts", "miner", "worker", "device_class", "device_id", "temperature_c", "power_w"]


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def block(letter: str, height: int, minutes_ago: float, miner: str, status: str = "found") -> list[Any]:
    at = ago(minutes_ago)
    return [letter * 64, height, at, "sha256d", "BTC", miner, "w", 300_000_000, 1e6, 1.0, status, "j", "", at]


def credit(letter: str, address: str, amount: int, kind: str = "credit") -> LedgerEntry:
    key = f"{kind}:{letter * 64}:{address}"
    return LedgerEntry(key, ms(NOW), "BTC", address, kind, amount, letter * 64)


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[TestClient[Any]]:
    shares = [[ago(3), "sha256d", ME, w, 1.0, "accepted", "asic"] for w in ("rig1", "rig2", "rig3")]
    shares.append([ago(4), "sha256d", OTHER, "rig1", 5.0, "accepted", "asic"])
    shares.append([ago(4), "sha256d", "not an address", "rig1", 5.0, "bad_address", ""])  # no accepted work
    clickhouse.insert("shares", shares, column_names=["ts", "algorithm", "miner", "worker", "difficulty", "status",
                                                      "hardware"])
    clickhouse.insert("telemetry", [
        [ago(8), ME, "rig1", "asic", "b0", 95.0, 3000.0],  # an older reading of b0: its newest counts
        [ago(1), ME, "rig1", "asic", "b0", 70.5, 3000.0],
        [ago(2), ME, "rig1", "asic", "b1", 61.0, 3000.0],
        [ago(2), ME, "rig1", "asic", "b2", None, 3000.0],  # reports no temperature: not in the mean
        [ago(30), ME, "rig2", "asic", "b0", 80.0, 3000.0],  # older than 10 minutes: not current
        [ago(1), OTHER, "rig1", "asic", "b0", 40.0, 3000.0],  # another miner's rig of the same name
    ], column_names=TELEMETRY)
    clickhouse.insert("blocks", [
        block("a", 10, 50, ME), block("a", 10, 40, ME, "confirmed"),  # mine, settled: credited
        block("b", 11, 30, OTHER),  # another miner's, my shares in its window: credited
        block("c", 12, 20, OTHER),  # another miner's, not mine (no credit of mine)
        block("d", 13, 10, OTHER), block("d", 13, 5, OTHER, "orphaned"),  # credited, then reversed
        block("e", 14, 1, ME),  # mine, not settled yet
    ], column_names=BLOCK_COLUMNS)
    LedgerWriter(clickhouse).write([
        credit("a", ME, 200_000_000), credit("a", OTHER, 94_000_000),
        credit("b", ME, 75_000_000), credit("b", OTHER, 219_000_000),
        credit("c", OTHER, 294_000_000),
        credit("d", ME, 30_000_000), credit("d", ME, -30_000_000, "reversal"),
        LedgerEntry(f"fee:{'c' * 64}:{ME}", ms(NOW), "BTC", ME, "credit", 6_000_000, "c" * 64),  # a fee share
    ], ms(NOW))

    class Probe:
        async def check(self) -> HealthReport:
            return HealthReport(ok=True, kafka=ComponentHealth(ok=True, latency_ms=0),
                                clickhouse=ComponentHealth(ok=True, latency_ms=0), consumer_lag=[])

    deps = ApiDeps(clickhouse=clickhouse, clock=FixedClock(NOW), settings=ApiSettings(), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


def body(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_workers_carry_the_latest_temperature_of_their_devices(api: TestClient[Any]) -> None:
    workers = {w["name"]: w for w in body(api.get(f"/api/v1/miners/{ME}/workers"))["data"]}
    assert (workers["rig1"]["temperature"], workers["rig1"]["temperature_max"]) == (65.75, 70.5)  # (70.5 + 61) / 2
    assert (workers["rig2"]["temperature"], workers["rig2"]["temperature_max"]) == (None, None)  # stale reading
    assert (workers["rig3"]["temperature"], workers["rig3"]["temperature_max"]) == (None, None)  # no telemetry
    assert workers["rig1"]["hashrate"] > 0 and workers["rig1"]["status"] == "online"  # the seed fields stay


def test_blocks_the_miner_found_or_was_credited_in(api: TestClient[Any]) -> None:
    page = body(api.get(f"/api/v1/miners/{ME}/blocks"))
    blocks = {b["hash"][0]: b for b in page["data"]}
    assert [b["hash"][0] for b in page["data"]] == ["e", "d", "b", "a"]  # newest first; c is not mine
    assert page["meta"]["total"] == 4
    assert (blocks["a"]["found_by"], blocks["a"]["status"], blocks["a"]["credited"]) == (ME, "confirmed", True)
    assert (blocks["a"]["credit_base_units"], blocks["a"]["credit_str"], blocks["a"]["share"]) == (
        200_000_000, "2.00000000", round(2 / 3, 8))
    assert (blocks["b"]["found_by"], blocks["b"]["credit_base_units"], blocks["b"]["share"]) == (OTHER, 75_000_000, 0.25)
    assert (blocks["d"]["status"], blocks["d"]["credit_base_units"]) == ("orphaned", 30_000_000)  # what it was credited
    assert (blocks["e"]["credited"], blocks["e"]["credit_base_units"], blocks["e"]["share"]) == (False, 0, None)
    assert blocks["b"]["effort"] is not None and blocks["b"]["reward_str"] == "3.00000000"
    second = body(api.get(f"/api/v1/miners/{ME}/blocks?limit=2&page=2"))
    assert [b["hash"][0] for b in second["data"]] == ["b", "a"]
    assert body(api.get(f"/api/v1/miners/{OTHER}/blocks"))["meta"]["total"] == 4  # a, b, c, d
    assert api.get("/api/v1/miners/not-an-address!/blocks").status_code == 400


def test_admin_lists_the_active_miners_busiest_first(api: TestClient[Any], clickhouse: Client) -> None:
    assert api.get("/api/v1/miners").status_code == 401
    assert api.get("/api/v1/miners", headers=auth_headers(create_user_key(clickhouse, "write"))).status_code == 403
    page = body(api.get("/api/v1/miners?limit=1", headers=auth_headers(create_user_key(clickhouse, "admin"))))
    assert page["meta"]["total"] == 2  # not the malformed address: it has no accepted work
    first = page["data"][0]
    assert (first["address"], first["workers"], first["shares"]["accepted"]) == (OTHER, 1, 1)  # 5 > 3 x 1 difficulty
    assert first["hashrate"] > 0
