"""The API against a real chDB: hashrates match H = Σd·F/T exactly for a hand-built set of shares.

`now` is 12:00:20 UTC today (near the real date, so the bucket tables' TTLs keep the rows). Windows:
10 min -> buckets from 11:50:00 (shares_1m); 24 h -> buckets from yesterday 12:00:00 (shares_1h).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.health import ComponentHealth, HealthReport
from api.services.db import Db
from api.services.miners import MinerService
from api.settings import ServedPort
from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.clock import FixedClock

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOW = TODAY + dt.timedelta(hours=12, seconds=20)
ALIGNED_10M = TODAY + dt.timedelta(hours=11, minutes=50)
ALIGNED_24H = TODAY - dt.timedelta(hours=12)
SHA = HASHRATE_FACTOR[Algorithm.SHA256D]
SCRYPT = HASHRATE_FACTOR[Algorithm.SCRYPT]

M1 = "bc1qminerone000000000000000000000000000"
M2 = "ltc1qminertwo00000000000000000000000000"
M3 = "bc1qminerthree0000000000000000000000000"  # only a share older than 24 h
NOBODY = "bc1qnobody0000000000000000000000000000"

COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]


def at(hh: int, mm: int, ss: int = 0, *, days_ago: int = 0) -> dt.datetime:
    return TODAY - dt.timedelta(days=days_ago) + dt.timedelta(hours=hh, minutes=mm, seconds=ss)


SHARES: list[list[Any]] = [
    # M1 rig1 (gpu): steady; a share right at the 10 min window's aligned start.
    [at(12, 0, days_ago=2), "sha256d", M1, "rig1", 1000.0, "accepted", "gpu"],  # older than 24 h
    [at(14, 30, days_ago=1), "sha256d", M1, "rig1", 10.0, "accepted", "gpu"],
    [at(11, 50), "sha256d", M1, "rig1", 20.0, "accepted", "gpu"],
    [at(11, 59, 0), "sha256d", M1, "rig1", 20.0, "stale", "gpu"],
    [at(11, 59, 50), "sha256d", M1, "rig1", 20.0, "accepted", "gpu"],
    # M1 rig2 (asic): joined mid-window at 11:55:20.
    [at(11, 55, 20), "sha256d", M1, "rig2", 64.0, "accepted", "asic"],
    [at(11, 59, 20), "sha256d", M1, "rig2", 64.0, "accepted", "asic"],
    # M1 rig3 (cpu): silent for the last 2 hours.
    [at(10, 0), "sha256d", M1, "rig3", 100.0, "accepted", "cpu"],
    # M1 rig4 (no hint): only a rejected share in the window.
    [at(11, 58), "sha256d", M1, "rig4", 50.0, "low_difficulty", ""],
    # M1 rig5: in the 11:50 bucket but before now - 10 min: counted in the window's work, not online.
    [at(11, 50, 10), "sha256d", M1, "rig5", 1.0, "accepted", "gpu"],
    # M2: two algorithms.
    [at(11, 56), "scrypt", M2, "a", 2.0, "accepted", "GPU"],
    [at(11, 57), "scrypt", M2, "a", 2.0, "duplicate", "GPU"],
    [at(6, 0), "ethash", M2, "b", 4_000_000.0, "accepted", ""],
    # M3: silent for two days.
    [at(9, 0, days_ago=2), "sha256d", M3, "old", 5.0, "accepted", "cpu"],
]
PORTS = (
    ServedPort("sha256d", 3333, difficulty=0.01, min_difficulty=0.0001, max_difficulty=1e12),
    ServedPort("scrypt", 3337, difficulty=0.5, min_difficulty=0.001, max_difficulty=1e9),
)


def seconds_between(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds()


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[TestClient[Any]]:
    clickhouse.insert("shares", SHARES[:6], column_names=COLUMNS)  # two inserts: two parts per bucket table
    clickhouse.insert("shares", SHARES[6:], column_names=COLUMNS)
    healthy = HealthReport(
        ok=True,
        kafka=ComponentHealth(ok=True, latency_ms=0),
        clickhouse=ComponentHealth(ok=True, latency_ms=0),
        consumer_lag=[],
    )

    class Probe:
        async def check(self) -> HealthReport:
            return healthy

    deps = ApiDeps(clickhouse=clickhouse, clock=FixedClock(NOW), settings=ApiSettings(stratum_ports=PORTS), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield client


def data(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["meta"]["timestamp"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["meta"]["version"] == "1.0"
    return body["data"]


def only(window: dict[str, Any]) -> dict[str, Any]:
    assert len(window["by_algorithm"]) == 1
    rate: dict[str, Any] = window["by_algorithm"][0]
    assert window["total"] == rate["hashrate"]
    return rate


def test_worker_hashrates_follow_the_formula(api: TestClient[Any]) -> None:
    workers = {w["name"]: w for w in data(api.get(f"/api/v1/miners/{M1}/workers"))}
    assert list(workers) == ["rig1", "rig2", "rig3", "rig4", "rig5"]
    assert workers["rig1"]["hashrate"] == 40.0 * SHA / 620.0  # seed `hashrate`: the 10 min figure

    # rig1: present since before the window -> T runs from the aligned start.
    rig1 = only(workers["rig1"]["hashrate_10m"])
    t = seconds_between(NOW, ALIGNED_10M)
    assert t == 620.0
    assert (rig1["sum_difficulty"], rig1["seconds"], rig1["hashrate"]) == (40.0, t, 40.0 * SHA / t)
    rig1_day = only(workers["rig1"]["hashrate_24h_detail"])
    t = seconds_between(NOW, at(14, 30, days_ago=1))  # its first share in the 24 h window
    assert (rig1_day["sum_difficulty"], rig1_day["seconds"], rig1_day["hashrate"]) == (
        50.0,
        t,
        50.0 * SHA / t,
    )

    # rig2 joined mid-window: measured over the 300 s it was present, in both windows.
    for window in ("hashrate_10m", "hashrate_24h_detail"):
        rig2 = only(workers["rig2"][window])
        assert (rig2["sum_difficulty"], rig2["seconds"], rig2["hashrate"]) == (
            128.0,
            300.0,
            128.0 * SHA / 300.0,
        )

    # rig3: no share for the 10 min window -> 0, not its last value; 24 h since its only share.
    assert only(workers["rig3"]["hashrate_10m"])["hashrate"] == 0.0
    assert workers["rig3"]["hashrate_10m"]["total"] == 0.0
    t = seconds_between(NOW, at(10, 0))
    assert only(workers["rig3"]["hashrate_24h_detail"])["hashrate"] == 100.0 * SHA / t
    assert workers["rig3"]["hashrate_24h"] == 100.0 * SHA / t

    # rig4: only rejected work -> 0.
    assert only(workers["rig4"]["hashrate_10m"])["hashrate"] == 0.0


def test_worker_flags_counts_and_hardware(api: TestClient[Any]) -> None:
    workers = {w["name"]: w for w in data(api.get(f"/api/v1/miners/{M1}/workers"))}
    assert {n: w["status"] for n, w in workers.items()} == {
        "rig1": "online",
        "rig2": "online",
        "rig3": "offline",
        "rig4": "offline",  # only a rejected share in the window: not mining
        "rig5": "offline",
    }
    assert {w["registered"] for w in workers.values()} == {False}  # no registry row
    assert {n: w["hardware"] for n, w in workers.items()} == {
        "rig1": "gpu",
        "rig2": "asic",
        "rig3": "cpu",
        "rig4": "unknown",
        "rig5": "gpu",
    }
    assert workers["rig1"]["shares_24h"] == {"accepted": 3, "rejected": 0, "stale": 1}
    assert workers["rig4"]["shares_24h"] == {"accepted": 0, "rejected": 1, "stale": 0}
    assert (workers["rig1"]["shares_accepted"], workers["rig1"]["shares_rejected"]) == (3, 0)
    assert (workers["rig4"]["shares_accepted"], workers["rig4"]["shares_rejected"]) == (0, 1)
    assert workers["rig1"]["last_share"] == at(11, 59, 50).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_miner_totals(api: TestClient[Any]) -> None:
    miner = data(api.get(f"/api/v1/miners/{M1}"))
    rate = only(miner["hashrate_10m"])
    # Σd = rig1 40 + rig2 128 + rig5 1; the miner is present from before the window -> T = 620 s.
    assert (rate["sum_difficulty"], rate["seconds"], rate["hashrate"]) == (169.0, 620.0, 169.0 * SHA / 620.0)
    assert miner["hashrate"] == 169.0 * SHA / 620.0
    day = only(miner["hashrate_24h_detail"])
    t = seconds_between(NOW, at(14, 30, days_ago=1))
    assert (day["sum_difficulty"], day["hashrate"]) == (10.0 + 40.0 + 128.0 + 100.0 + 1.0, 279.0 * SHA / t)
    assert miner["hashrate_24h"] == 279.0 * SHA / t
    assert (miner["workers"], miner["workers_24h"]) == (2, 5)  # active: rig1, rig2 (rig4: rejects only)
    assert miner["shares"] == {"accepted": 7, "rejected": 1, "stale": 1}
    assert (miner["balance"], miner["paid"]) == (0, 0)
    assert miner["rejects_24h"] == [
        {"reason": "low_difficulty", "shares": 1},
        {"reason": "stale", "shares": 1},
    ]
    assert miner["last_share"] == at(11, 59, 50).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_miner_of_two_algorithms_has_no_total(api: TestClient[Any]) -> None:
    miner = data(api.get(f"/api/v1/miners/{M2}"))
    ten = miner["hashrate_10m"]
    assert ten["total"] is None
    by = {a["algorithm"]: a for a in ten["by_algorithm"]}
    assert by["ethash"]["hashrate"] == 0.0  # mined today, silent for the last 10 min
    assert by["scrypt"]["hashrate"] == 2.0 * SCRYPT / seconds_between(NOW, at(11, 56))
    assert miner["hashrate"] == 0.0 + 2.0 * SCRYPT / seconds_between(NOW, at(11, 56))  # summed, never null
    day = {a["algorithm"]: a["hashrate"] for a in miner["hashrate_24h_detail"]["by_algorithm"]}
    assert day == {
        "ethash": 4_000_000.0 * 1.0 / seconds_between(NOW, at(6, 0)),
        "scrypt": 2.0 * SCRYPT / seconds_between(NOW, at(11, 56)),
    }
    assert miner["rejects_24h"] == [{"reason": "duplicate", "shares": 1}]


def test_pool_stats(api: TestClient[Any]) -> None:
    stats = data(api.get("/api/v1/stats"))
    ten = {a["algorithm"]: a for a in stats["hashrate_10m"]["by_algorithm"]}
    assert ten["sha256d"]["hashrate"] == 169.0 * SHA / 620.0
    assert ten["scrypt"]["hashrate"] == 2.0 * SCRYPT / seconds_between(NOW, at(11, 56))
    assert ten["ethash"]["hashrate"] == 0.0
    assert stats["hashrate_10m"]["total"] is None
    assert stats["hashrate"] == ten["sha256d"]["hashrate"] + ten["scrypt"]["hashrate"] + 0.0
    day = {a["algorithm"]: a for a in stats["hashrate_24h_detail"]["by_algorithm"]}
    t = seconds_between(NOW, at(14, 30, days_ago=1))
    assert day["sha256d"]["hashrate"] == 279.0 * SHA / t
    # active = accepted work in the last 10 min: rig1, rig2, M2/a (rig4 sent only a rejected share)
    assert (stats["miners"], stats["workers"]) == (2, 3)
    assert stats["shares_24h"] == {"accepted": 9, "rejected": 2, "stale": 1}
    assert stats["algorithms_24h"] == ["ethash", "scrypt", "sha256d"]
    assert stats["algorithms"] == ["SHA256d", "Scrypt"]  # served (the Stratum ports)
    assert stats["currencies"] == ["BTC", "LTC", "DOGE"]
    # hardware counts workers with accepted work in 24 h (rig4, rejects only, is not counted)
    assert stats["hardware"] == {"cpu": 1, "gpu": 3, "asic": 1, "unknown": 1}
    assert stats["hardware_stats"] == {"cpu_miners": 1, "gpu_miners": 3, "asic_miners": 1}


def test_algorithms_list_the_served_ones_with_current_hashrate(api: TestClient[Any]) -> None:
    algorithms = {a["name"]: a for a in data(api.get("/api/v1/algorithms"))}
    assert set(algorithms) == {"SHA256d", "Scrypt"}  # ethash was mined (a test row) but is not served
    assert algorithms["SHA256d"]["hashrate_factor"] == SHA
    assert algorithms["SHA256d"]["hashrate"] == 169.0 * SHA / 620.0
    assert algorithms["Scrypt"]["hashrate"] == 2.0 * SCRYPT / seconds_between(NOW, at(11, 56))
    assert (algorithms["SHA256d"]["ports"], algorithms["SHA256d"]["difficulty"]) == ([3333], 0.01)
    assert algorithms["Scrypt"]["currencies"] == ["LTC", "DOGE"]


def test_a_miner_silent_for_a_day_is_read_with_its_key_and_reports_zero(api: TestClient[Any]) -> None:
    miner = data(api.get(f"/api/v1/miners/{M3}"))
    assert (miner["hashrate"], miner["hashrate_24h"], miner["workers"]) == (0.0, 0.0, 0)
    assert miner["last_share"] == at(9, 0, days_ago=2).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert miner["shares"] == {"accepted": 0, "rejected": 0, "stale": 0}


def test_the_snapshot_and_the_one_miner_read_agree(api: TestClient[Any], clickhouse: Client) -> None:
    """/miners/{address} of an active miner comes from the snapshot; the sort-key read gives the same."""
    for miner in (M1, M2):
        from_snapshot = data(api.get(f"/api/v1/miners/{miner}"))
        direct = asyncio.run(MinerService(Db(clickhouse), FixedClock(NOW)).read_miner(miner))
        assert msgspec.json.decode(msgspec.json.encode(direct)) == from_snapshot


def test_unknown_miner_is_not_found(api: TestClient[Any]) -> None:
    for path in (f"/api/v1/miners/{NOBODY}", f"/api/v1/miners/{NOBODY}/workers"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "error": {
                "code": "NOT_FOUND",
                "message": f"no shares from miner {NOBODY}",
                "details": {"address": NOBODY},
            },
        }
