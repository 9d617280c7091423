"""The rewards' batches and test endpoints against a real chDB with real API keys (issue 11, seed 003):
`POST /rewards/batch/daily|monthly` (SYSTEM) run once per period and answer the first run again; the daily run
refreshes the market price from a configured source (REWARD_007 when it fails, retried at the next call), keeps
the last price without one, snapshots the holders' incentives and moves the target price by a bounded step
when asked; the monthly run snapshots the closed month, archives its settled calculations (deleting nothing)
and retires/rolls over limits; the scheduled job runs the same batch. The seed's test endpoints exist only
when switched on."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.rewards import RewardsContext, RewardsSettings
from api.rewards.batch_runs import JOBS_CALLER
from api.rewards.daily import run_daily
from api.services.db import Db
from jobs.sfr_batches import SfrBatchJob
from schemas.clock import FixedClock
from tests.integration.test_api_roles import Probe
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(hour=10, minute=15, second=0, microsecond=0)
LAST_MONTH = (NOW.replace(day=1) - dt.timedelta(days=1)).replace(day=15)
SEED_CONTRIBUTION = {"contributionType": "development", "activityType": "commit", "referenceId": "c0ffee",
                     "referenceType": "git", "metrics": {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150,
                                                         "codeDeleted": 30}}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code", "timestamp"}


@dataclass
class Api:
    client: TestClient[Any]
    clickhouse: Client
    clock: FixedClock
    keys: dict[str, dict[str, str]]

    def call(self, method: str, path: str, who: str = "system", *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v1/rewards{path}", headers=self.keys[who], **kwargs)
        assert response.status_code == expect, response.text
        body = response.json()
        if expect >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert PROBLEM_FIELDS <= set(body) and body["status"] == expect
        return body

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.clickhouse.query(sql, parameters=params).result_rows]

    def user_id(self, who: str) -> str:
        return str(self.rows("SELECT user_id FROM users FINAL WHERE username = {u:String}", u=who)[0][0])


@contextmanager
def make_api(clickhouse: Client, rewards: RewardsSettings | None = None) -> Iterator[Api]:
    clock = FixedClock(NOW)
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("admin", "admin"), ("system", "system"))}
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=ApiSettings(rate_limit_enabled=False), health=Probe(),
                   rewards=rewards or RewardsSettings())
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


@contextmanager
def price_source(answers: list[tuple[int, dict[str, Any]]]) -> Iterator[str]:
    """A JSON price source on loopback answering `answers` in order (the last one again after that)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = answers.pop(0) if len(answers) > 1 else answers[0]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sfr-jpy"
    finally:
        server.shutdown()
        server.server_close()


def calculated(api: Api, who: str = "alice") -> int:
    record = api.call("POST", "/contributions", who, json=SEED_CONTRIBUTION, expect=201)
    return int(api.call("POST", "/calculate", who, json={"contributionRecordId": record["contributionRecordId"]})
               ["calculationId"])


def test_daily_batch_runs_once_a_day_and_answers_the_first_run_again(clickhouse: Client) -> None:
    with make_api(clickhouse) as api:
        calc = calculated(api)
        first = api.call("POST", "/batch/daily")
        assert first["batchId"] == f"daily_{NOW:%Y%m%d}" and first["state"] == "succeeded"
        assert first["alreadyRun"] is False and first["kind"] == "daily" and first["attempt"] == 1
        steps = first["steps"]
        assert steps["marketPrice"] == {"ok": True, "source": "none", "keptPriceJpy": None, "keptPriceTimestamp": None,
                                        "note": "SFR_MARKET_PRICE_URL is not set: the last recorded price stays in force"}
        assert steps["holdingIncentives"] == {"ok": True, "users": 1}  # alice has a calculation
        assert steps["factorAdjustment"]["ok"] is True and steps["factorAdjustment"]["rule"] == "none"
        assert api.rows("SELECT count() FROM reward_holding_snapshots FINAL WHERE user_id = {u:String}",
                        u=api.user_id("alice")) == [(1,)]
        again = api.call("POST", "/batch/daily")
        assert again["alreadyRun"] is True and {k: v for k, v in again.items() if k != "alreadyRun"} == \
            {k: v for k, v in first.items() if k != "alreadyRun"}
        assert api.rows("SELECT count(), any(state) FROM reward_batches FINAL WHERE run_key = {k:String}",
                        k=f"daily:{NOW.date()}") == [(1, "succeeded")]
        # nothing of the calculation moved; the audit names the run once
        assert api.rows("SELECT status FROM reward_calculations FINAL WHERE calculation_id = {c:UInt64}", c=calc) == \
            [("CALCULATED",)]
        assert api.rows("SELECT count(), any(role) FROM reward_audit WHERE action = 'batch.daily'") == [(1, "SYSTEM")]
        api.clock.advance(86400)
        assert api.call("POST", "/batch/daily")["batchId"] == f"daily_{NOW + dt.timedelta(days=1):%Y%m%d}"


def test_batches_are_system_only(clickhouse: Client) -> None:
    with make_api(clickhouse) as api:
        for who in ("alice", "admin"):
            for kind in ("daily", "monthly"):
                assert api.call("POST", f"/batch/{kind}", who, expect=403)["code"] == "REWARD_004"
        assert api.rows("SELECT count() FROM reward_batches") == [(0,)]


def test_the_daily_price_comes_from_the_source_and_a_failure_is_reward_007(clickhouse: Client) -> None:
    seed_price = {"priceJpy": 147.25, "priceSource": "exchange_api", "volume24h": 50000.00, "marketCap": 14725000.00,
                  "priceTimestamp": NOW.isoformat(), "somethingElse": [1, 2]}
    with price_source([(503, {"error": "down"}), (200, seed_price)]) as url, \
            make_api(clickhouse, RewardsSettings(market_price_url=url, target_adjust_bps=100)) as api:
        failed = api.call("POST", "/batch/daily", expect=500)
        assert failed["code"] == "REWARD_007" and failed["details"]["batchId"] == f"daily_{NOW:%Y%m%d}"
        assert failed["details"]["steps"]["marketPrice"]["ok"] is False
        assert failed["details"]["steps"]["holdingIncentives"]["ok"] is True  # the other steps still ran
        assert "503" in failed["details"]["steps"]["marketPrice"]["error"]
        assert failed["details"]["steps"]["factorAdjustment"]["meanPriceJpy"] is None  # no price: target kept
        retried = api.call("POST", "/batch/daily")  # a failed run runs again
        assert retried["state"] == "succeeded" and retried["attempt"] == 2 and retried["alreadyRun"] is False
        assert retried["steps"]["marketPrice"]["priceJpy"] == 147.25
        assert retried["steps"]["marketPrice"]["source"] == "exchange_api"
        # the bounded adjustment: 150.00 moves toward the 30-day mean 147.25 by at most 1 % (1.50)
        adjustment = retried["steps"]["factorAdjustment"]
        assert adjustment["fromTargetPrice"] == 150.0 and adjustment["toTargetPrice"] == 148.5
        factors = api.call("GET", "/factors/current", "alice")
        assert factors["marketFactor"]["currentPrice"] == 147.25 and factors["marketFactor"]["targetPrice"] == 148.5
        assert api.rows("SELECT count() FROM reward_batches FINAL WHERE kind = 'daily'") == [(1,)]
        assert api.call("POST", "/batch/daily")["alreadyRun"] is True
        assert api.rows("SELECT count() FROM reward_factors") == [(1,)]  # adjusted once for the day
        events = api.rows("SELECT count() FROM reward_audit WHERE event = 'factors.updated'")
        assert events == [(1,)]


def test_monthly_batch_snapshots_archives_and_resets_limits(clickhouse: Client) -> None:
    with make_api(clickhouse) as api:
        api.clock.advance((LAST_MONTH - NOW).total_seconds())  # back to the middle of last month
        paid, _pending, dropped = calculated(api), calculated(api), calculated(api)
        approved = api.call("POST", "/approve", "admin", json={"calculationIds": [paid]})
        api.call("POST", "/distribute", "admin", json={"distributionIds": approved["distributionIds"]})
        api.call("POST", "/reject", "admin", json={"calculationIds": [dropped], "reason": "duplicate"})
        month = api.call("POST", "/limits", "admin", json={"limitType": "MONTHLY", "category": "development",
                                                           "maxAmount": 5000.00}, expect=201)
        day = api.call("POST", "/limits", "admin", json={"limitType": "DAILY", "maxAmount": 100.00}, expect=201)
        api.clock.advance((NOW - LAST_MONTH).total_seconds())
        run = api.call("POST", "/batch/monthly")
        assert run["batchId"] == f"monthly_{LAST_MONTH:%Y%m}" and run["state"] == "succeeded"
        assert run["period"]["month"] == f"{LAST_MONTH:%Y-%m}"
        stats = run["steps"]["statistics"]
        assert stats["calculations"] == 3 and stats["participatingUsers"] == 1
        # each is 1.4 × 2.5 × 1.0 × 1.0 = 3.50 SFR (no market price: M 1.0; no SFR held: H 1.0)
        assert stats["totalCalculated"] == {"amount": 7.0, "amountUnits": 700_000_000, "amountStr": "7.00"}
        assert stats["totalDistributed"]["amountUnits"] == stats["pendingDistribution"]["amountUnits"] == 350_000_000
        assert stats["rejected"]["amountUnits"] == 350_000_000
        assert stats["byContributionType"] == {"development": {"count": 2, "amount": 7.0, "amountUnits": 700_000_000,
                                                               "amountStr": "7.00"}}
        assert stats["contributionsRecorded"] == {"development": 3}
        assert run["steps"]["archive"]["archivedCalculations"] == 2 and run["steps"]["archive"]["deleted"] == 0
        archived = api.rows("SELECT calculation_id, status FROM reward_calculations_archive FINAL ORDER BY 1")
        assert archived == [(paid, "DISTRIBUTED"), (dropped, "REJECTED")]
        assert api.rows("SELECT count() FROM reward_calculations FINAL") == [(3,)]  # nothing deleted
        limits = run["steps"]["limits"]
        assert sorted(limits["retired"]) == sorted([month["limitId"], day["limitId"]])
        assert [r["from"] for r in limits["rolledOver"]] == [month["limitId"]]  # DAILY is only retired
        new_id = limits["rolledOver"][0]["to"]
        assert api.rows("SELECT limit_type, category, max_units, active, toStartOfMonth(period_start) = "
                        "toStartOfMonth(now64()) FROM reward_limits FINAL WHERE limit_id = {i:UInt64}", i=new_id) == \
            [("MONTHLY", "development", 5000 * 10**8, 1, True)]
        again = api.call("POST", "/batch/monthly")
        assert again["alreadyRun"] is True and again["steps"] == run["steps"]
        assert api.rows("SELECT count() FROM reward_limits FINAL WHERE active = 1") == [(1,)]


def test_the_scheduled_job_runs_the_same_batch(clickhouse: Client) -> None:
    ctx = RewardsContext(Db(clickhouse), FixedClock(NOW))
    job = SfrBatchJob("sfr_daily", lambda: run_daily(ctx, JOBS_CALLER, ""), interval_s=60)
    assert asyncio.run(job.run()) == "succeeded"
    assert asyncio.run(job.run()) == "succeeded"  # the look after: already run, nothing done
    assert [tuple(r) for r in clickhouse.query(
        "SELECT count(), any(requested_by), any(batch_id) FROM reward_batches FINAL").result_rows] == \
        [(1, "sfr-jobs", f"daily_{NOW:%Y%m%d}")]
    with make_api(clickhouse) as api:  # the API answers the job's run of the day
        answered = api.call("POST", "/batch/daily")
        assert answered["alreadyRun"] is True and answered["requestedBy"] == "sfr-jobs"


def test_test_endpoints_exist_only_when_switched_on(clickhouse: Client) -> None:
    with make_api(clickhouse) as api:
        assert api.client.post("/api/v1/rewards/test/generate-sample-data", headers=api.keys["admin"]).status_code == 404
        assert api.client.delete("/api/v1/rewards/test/reset-calculations", headers=api.keys["admin"]).status_code == 404
    with make_api(clickhouse, RewardsSettings(test_endpoints=True)) as api:
        assert api.call("POST", "/test/generate-sample-data", "alice", expect=403)["code"] == "REWARD_004"
        sample = api.call("POST", "/test/generate-sample-data", "admin", expect=201)
        assert len(sample["userIds"]) == 3 and len(sample["contributionRecordIds"]) == 18
        assert sample["marketPriceJpy"] == 145.5
        listed = api.call("GET", f"/contributions?userId={sample['userIds'][0]}&contributionType=development", "admin")
        assert listed["page"]["totalElements"] == 1 and listed["content"][0]["contributionScore"] == 2.5
        first, second = sample["contributionRecordIds"][:2]
        calc = api.call("POST", "/calculate", "admin", json={"contributionRecordId": first})
        assert calc["calculationFormula"] == "1.4 × 2.5 × 1.2 × 1.0 = 4.20 SFR"  # M 1.2 at 145.50 JPY; no holding
        kept = api.call("POST", "/calculate", "admin", json={"contributionRecordId": second})["calculationId"]
        api.call("POST", "/approve", "admin", json={"calculationIds": [kept]})
        reset = api.call("DELETE", "/test/reset-calculations", "admin")
        assert reset["deletedCalculationIds"] == [calc["calculationId"]]
        assert reset["keptCalculations"] == {"APPROVED": 1, "DISTRIBUTED": 0}
        again = api.call("POST", "/calculate", "admin", json={"contributionRecordId": first})  # no REWARD_006 now
        assert again["status"] == "CALCULATED" and again["finalAmount"] == 4.2
        assert api.call("POST", "/calculate", "admin", json={"contributionRecordId": second}, expect=409)["code"] == \
            "REWARD_006"
