"""Seed shapes: each read endpoint of seeds 000 (Japanese) and 001 (English) answers with every field of the
seed's example response, with the example's JSON type (extra fields are allowed).

The examples are parsed from the seed documents themselves (`../shared/seeds/00[01]_*.txt`): the first
```json block after the line `GET <path>`. Lists are checked item by item against the example's first item.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from api.settings import ServedPort
from schemas.clock import FixedClock
from schemas.rows import BLOCK_COLUMNS

pytestmark = pytest.mark.integration

#: A copy of the seed documents kept with the tests (a clone has no `../shared`); `test_seed_copies_are_current`
#: compares it with `../shared/seeds` wherever that exists.
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SHARED_SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
MINER = "bc1qseedshape00000000000000000000000000"
LTC_MINER = "ltc1qseedshape0000000000000000000000000"
HASH = "00000000000000000001" + "ab" * 22
PORTS = (
    ServedPort("sha256d", 3333, difficulty=0.01, min_difficulty=0.0001, max_difficulty=1e12),
    ServedPort("scrypt", 3337, difficulty=0.5, min_difficulty=0.001, max_difficulty=1e9),
)
#: seed path -> our path (the seed's `{address}` is a known miner)
ENDPOINTS = {
    "/stats": "/api/v1/stats",
    "/algorithms": "/api/v1/algorithms",
    "/miners/{address}": f"/api/v1/miners/{MINER}",
    "/miners/{address}/workers": f"/api/v1/miners/{MINER}/workers",
    "/miners/{address}/payments": f"/api/v1/miners/{MINER}/payments",
    "/blocks": "/api/v1/blocks",
    "/monitoring/hardware": "/api/v1/monitoring/hardware",
}
#: Lists that are honestly empty today (no ledger before issue 9): their items cannot be checked yet.
MAY_BE_EMPTY = {"/miners/{address}/payments"}


def seed_example(seed: str, path: str) -> dict[str, Any]:
    """The example response of `GET path` in the seed document whose name starts with `seed`."""
    files = sorted(SEEDS.glob(f"{seed}_*.txt"))
    assert files, f"seed {seed} not found in {SEEDS}"
    text = files[0].read_text(encoding="utf-8")
    at = text.index(f"GET {path}\n")
    block = re.search(r"```json\n(.*?)\n```", text[at:], re.S)
    assert block is not None, f"no JSON example after GET {path} in {files[0].name}"
    example: dict[str, Any] = json.loads(block.group(1))
    return example


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_shape(example: Any, actual: Any, where: str, may_be_empty: bool) -> None:
    assert json_type(actual) == json_type(example), f"{where}: {json_type(actual)} where the seed has {json_type(example)}"
    if isinstance(example, dict):
        for key, value in example.items():
            assert key in actual, f"{where}.{key} missing"
            assert_shape(value, actual[key], f"{where}.{key}", may_be_empty)
    elif isinstance(example, list) and example:
        assert actual or may_be_empty, f"{where}: empty list; the test data should fill it"
        for i, item in enumerate(actual):
            assert_shape(example[0], item, f"{where}[{i}]", may_be_empty)


def minutes_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=n)


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[TestClient[Any]]:
    shares = [
        [minutes_ago(5), "sha256d", MINER, "worker1", 64.0, "accepted", "bmminer", "BTC"],
        [minutes_ago(4), "sha256d", MINER, "worker1", 64.0, "low_difficulty", "bmminer", "BTC"],
        [minutes_ago(3), "sha256d", MINER, "worker2", 16.0, "accepted", "gpu", "BTC"],
        [minutes_ago(2), "sha256d", MINER, "worker2", 16.0, "stale", "gpu", "BTC"],
        [minutes_ago(3), "scrypt", LTC_MINER, "rig", 1.0, "accepted", "cpu", "LTC"],
    ]
    clickhouse.insert("shares", [[*row[:6], {"bmminer": "asic"}.get(row[6], row[6]), row[7]] for row in shares],
                      column_names=["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware", "coin"])
    found, confirmed = minutes_ago(30), minutes_ago(10)
    block = [HASH, 850123, found, "sha256d", "BTC", MINER, "worker1", 625_000_000, 1e12, 64.0, "found", "j1", "", found]
    clickhouse.insert("blocks", [block, [*block[:2], confirmed, *block[3:10], "confirmed", "j1", "", confirmed]],
                      column_names=BLOCK_COLUMNS)
    clickhouse.insert(
        "telemetry",
        [[minutes_ago(1), MINER, "worker1", "ASIC", "0", 80.5, 3250.0],
         [minutes_ago(1), MINER, "worker2", "GPU", "0", 70.0, 220.0],
         [minutes_ago(1), LTC_MINER, "rig", "CPU", "0", 60.0, 65.0]],
        column_names=["ts", "miner", "worker", "device_class", "device_id", "temperature_c", "power_w"],
    )
    healthy = HealthReport(ok=True, kafka=ComponentHealth(ok=True, latency_ms=0),
                           clickhouse=ComponentHealth(ok=True, latency_ms=0), consumer_lag=[])

    class Probe:
        async def check(self) -> HealthReport:
            return healthy

    deps = ApiDeps(clickhouse=clickhouse, clock=FixedClock(NOW), settings=ApiSettings(stratum_ports=PORTS),
                   health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


@pytest.mark.parametrize("seed", ["000", "001"])
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_the_answer_has_the_seed_example_fields_and_types(api: TestClient[Any], seed: str, path: str) -> None:
    example = seed_example(seed, path)
    response = api.get(ENDPOINTS[path])
    assert response.status_code == 200, response.text
    body = response.json()
    assert_shape(example, body, path, path in MAY_BE_EMPTY)
    assert body["meta"]["version"] == "1.0"  # the common response format's meta (seed: "1.0")


def test_seed_values_that_have_meaning_here(api: TestClient[Any]) -> None:
    stats = api.get("/api/v1/stats").json()["data"]
    assert stats["last_block"] == {"height": 850123, "hash": HASH, "found_at": minutes_ago(30).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "reward": 6.25, "reward_base_units": 625_000_000, "reward_str": "6.25000000",
        "currency": "BTC"}
    assert (stats["blocks_found"], stats["miners"], stats["workers"]) == (1, 2, 3)
    assert stats["hardware_stats"] == {"cpu_miners": 1, "gpu_miners": 1, "asic_miners": 1}
    assert set(stats["federation"]) >= {"peers", "shared_hashrate", "reputation"}  # filled by the federation source
    assert 0.0 <= stats["federation"]["reputation"] <= 1.0
    assert stats["algorithms"] == ["SHA256d", "Scrypt"]
    blocks = api.get("/api/v1/blocks").json()["data"]
    assert [(b["status"], b["reward"], b["reward_str"], b["found_by"], b["confirmations"]) for b in blocks] == [
        ("confirmed", 6.25, "6.25000000", MINER, 0)]
    assert api.get("/api/v1/blocks?currency=LTC").json()["data"] == []
    assert api.get("/api/v1/blocks?currency=btc").json()["data"][0]["hash"] == HASH
    hardware = api.get("/api/v1/monitoring/hardware").json()["data"]
    assert (hardware["asic_miners"]["count"], hardware["asic_miners"]["avg_temperature"],
            hardware["asic_miners"]["power_consumption"]) == (1, 80.5, 3250.0)
    assert hardware["gpu_miners"]["total_hashrate"] > 0
    workers = api.get(f"/api/v1/miners/{MINER}/workers?limit=1&page=2").json()
    assert [w["name"] for w in workers["data"]] == ["worker2"]
    assert workers["meta"] | {"timestamp": None} == {"timestamp": None, "version": "1.0", "page": 2, "limit": 1,
                                                      "total": 2, "total_pages": 2}
    payments = api.get(f"/api/v1/miners/{MINER}/payments").json()
    assert (payments["data"], payments["meta"]["total"], payments["meta"]["total_pages"]) == ([], 0, 0)


@pytest.mark.parametrize("url", ["/api/v1/blocks?limit=101", "/api/v1/blocks?limit=0", "/api/v1/blocks?currency=B%20TC",
                                 "/api/v1/miners/nope/payments", f"/api/v1/miners/{MINER}/workers?limit=101",
                                 f"/api/v1/miners/{MINER}/payments?page=0"])
def test_bad_parameters_are_invalid_request(api: TestClient[Any], url: str) -> None:
    response = api.get(url)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_seed_copies_are_current() -> None:
    copies = sorted(SEEDS.glob("00*_*.txt"))
    assert len(copies) >= 3
    for copy in copies:
        original = SHARED_SEEDS / copy.name
        if original.exists():  # beside the project's checkout: the copy must not drift from the contract
            assert copy.read_bytes() == original.read_bytes(), f"tests/seeds/{copy.name} differs from the seed"
