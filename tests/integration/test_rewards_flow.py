"""SFR holdings, approval, distribution, limits, reports and audit against a real chDB with real API keys
(issue 11, seed 003): ledger rows matching the seed's holding details give its breakdown (1.2 + 0.3 + 0.1 + 0.2 =
1.8) and so the seed's 7.56 SFR; approve -> distribute writes one ledger row per distribution and one
reward.distributed webhook, and re-submitting either changes nothing; the state machine refuses illegal moves
(409 REWARD_006) all-or-nothing; limits stop over-distribution (400 REWARD_003, nothing done); the ledger sums
to exactly what was distributed; user tokens on ADMIN routes get 403 REWARD_004 as RFC 7807 problems."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from jobs.alert_notify import NotifyJob
from jobs.reward_events import reward_deliveries
from schemas.clock import FixedClock
from tests.integration.test_api_roles import Probe
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

NOW = dt.datetime(2025, 8, 26, 12, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SEED_CONTRIBUTION = {
    "contributionType": "development", "activityType": "commit", "referenceId": "c0ffee", "referenceType": "git",
    "metrics": {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30},
    "activityDate": "2025-08-26T10:00:00Z",
}
PROBLEM = {"type", "title", "status", "detail", "instance", "code", "timestamp"}


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Api:
    client: TestClient[Any]
    ch: Client
    clock: FixedClock
    keys: dict[str, dict[str, str]]

    def call(self, method: str, path: str, who: str = "alice", *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v1/rewards{path}", headers=self.keys[who], **kwargs)
        assert response.status_code == expect, response.text
        if expect >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert PROBLEM <= set(response.json()) and response.json()["status"] == expect
        return response.json()

    def user_id(self, who: str) -> str:
        return str(self.ch.query("SELECT user_id FROM users FINAL WHERE username = {u:String}",
                                 parameters={"u": who}).result_rows[0][0])

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.ch.query(sql, parameters=params).result_rows[0][0]

    def calculated(self, who: str = "alice", **changes: Any) -> int:
        """A seed contribution of `who`, calculated (by the admin); its calculationId."""
        body = {**SEED_CONTRIBUTION, **changes, "userId": self.user_id(who)}
        cid = self.call("POST", "/contributions", "admin", json=body, expect=201)["contributionRecordId"]
        return int(self.call("POST", "/calculate", "admin", json={"contributionRecordId": cid})["calculationId"])

    def status(self, calculation_id: int) -> str:
        return str(self.scalar("SELECT status FROM reward_calculations FINAL WHERE calculation_id = {c:UInt64}",
                               c=calculation_id))

    def sfr_rewards(self) -> tuple[int, int]:
        """(ledger rows, Σ amount) of the distributions' SFR credits."""
        count, total = self.ch.query("SELECT count(), sum(amount) FROM ledger FINAL WHERE coin = 'SFR' AND "
                                     "startsWith(entry_key, 'sfr_reward:')").result_rows[0]
        return int(count), int(total)


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("bob", "read"), ("admin", "admin"), ("system", "system"))}
    clock = FixedClock(NOW)
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=ApiSettings(rate_limit_enabled=False), health=Probe())
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


def seed_holdings(api: Api) -> None:
    """Ledger rows matching the seed's details: 1025 SFR received 365 days ago at 140.00 JPY, 1000 of it staked
    180 days ago, 25 payments of 1 SFR; the current price 145.50."""
    api.call("POST", "/market-price", "system", expect=201,
             json={"priceJpy": 140.00, "priceSource": "exchange_api", "priceTimestamp": iso(NOW - 366 * DAY)})
    api.ch.insert("ledger", [["sfr_reward:900001", NOW - 365 * DAY, "SFR", api.user_id("alice"), "credit",
                              1025 * 10**8, "", "", "sfr_reward", NOW - 365 * DAY]],
                  column_names=["entry_key", "ts", "coin", "address", "kind", "amount", "block_hash", "payout_id",
                                "reason", "created_at"])
    move = {"userId": api.user_id("alice"), "movementType": "stake", "amount": 1000, "referenceId": "stake-1",
            "occurredAt": iso(NOW - 180 * DAY)}
    assert api.call("POST", "/sfr-movements", "system", json=move, expect=201)["created"] is True
    again = api.call("POST", "/sfr-movements", "system", json=move, expect=201)
    assert again["created"] is False and again["stakedUnits"] == 1000 * 10**8  # idempotent by referenceId
    for i in range(25):
        api.call("POST", "/sfr-movements", "system", expect=201,
                 json={**move, "movementType": "payment", "amount": 1, "referenceId": f"pay-{i}",
                       "occurredAt": iso(NOW - 9 * DAY)})
    short = api.call("POST", "/sfr-movements", "system", expect=400,
                     json={**move, "movementType": "payment", "referenceId": "pay-x"})
    assert short["code"] == "INVALID_REQUEST"  # 0 SFR free left
    api.call("POST", "/market-price", "system", expect=201,
             json={"priceJpy": 145.50, "priceSource": "exchange_api", "priceTimestamp": iso(NOW - dt.timedelta(hours=2))})


def test_seed_flow_from_holdings_to_distribution_and_reports(api: Api) -> None:
    seed_holdings(api)
    alice = api.user_id("alice")
    held = api.call("GET", "/holding-incentive/me")
    assert held == {"userId": alice, "holdingFactor": 1.8, "calculationDate": iso(NOW),
                    "breakdown": {"baseHolding": 1.2, "stakingBonus": 0.3, "paymentUsageBonus": 0.1,
                                  "priceSupportBonus": 0.2},
                    "details": {"holdingDays": 365, "stakingMonths": 6, "stakingAmount": 1000.0,
                                "paymentUsageCount": 25, "averageHoldingPrice": 140.0, "currentPrice": 145.5,
                                "priceSupportRatio": 0.96, "stakingUnits": 1000 * 10**8, "holdingAmount": 1000.0,
                                "holdingUnits": 1000 * 10**8}}
    assert api.call("GET", f"/holding-incentive/{alice}", "admin") == held
    assert api.call("GET", f"/holding-incentive/{alice}", "bob", expect=403)["code"] == "REWARD_004"
    history = api.call("GET", "/holding-incentive/me/history", params={"from": iso(NOW - DAY)})
    assert history["page"]["totalElements"] == 1 and history["content"][0]["holdingFactor"] == 1.8

    cid = api.call("POST", "/contributions", json=SEED_CONTRIBUTION, expect=201)["contributionRecordId"]
    calc = api.call("POST", "/calculate", json={"contributionRecordId": cid})
    assert calc["calculationFormula"] == "1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"
    calc_id = calc["calculationId"]

    approval = {"calculationIds": [calc_id], "approvalComment": "2025年8月分の報酬配布を承認"}
    assert api.call("POST", "/approve", json=approval, expect=403)["code"] == "REWARD_004"
    approved = api.call("POST", "/approve", "admin", json=approval)
    assert (approved["approvedCount"], approved["totalApprovedAmount"], approved["approvedBy"]) == (
        1, 7.56, api.user_id("admin"))
    assert approved["approvedAt"] == iso(NOW) and approved["newlyApprovedCount"] == 1
    again = api.call("POST", "/approve", "admin", json=approval)
    assert again["distributionIds"] == approved["distributionIds"] and again["newlyApprovedCount"] == 0
    assert api.scalar("SELECT count() FROM reward_distributions FINAL") == 1 and api.status(calc_id) == "APPROVED"

    order = {"distributionIds": approved["distributionIds"], "executionDate": "2025-08-26T12:00:00Z"}
    done = api.call("POST", "/distribute", "admin", json=order)
    (result,) = done["results"]
    assert (done["distributedCount"], done["totalDistributedAmount"], done["newlyDistributedCount"]) == (1, 7.56, 1)
    assert (result["status"], result["amountUnits"], result["userId"]) == ("DISTRIBUTED", 756_000_000, alice)
    assert result["ledgerEntryKey"] == f"sfr_reward:{approved['distributionIds'][0]}"
    repeat = api.call("POST", "/distribute", "admin", json=order)
    assert repeat["newlyDistributedCount"] == 0 and repeat["results"] == done["results"]
    assert api.sfr_rewards() == (2, 1025 * 10**8 + 756_000_000)  # the seeded credit + exactly one new row
    assert api.status(calc_id) == "DISTRIBUTED"
    row = api.ch.query("SELECT ts, address, kind FROM ledger FINAL WHERE entry_key = {k:String}",
                       parameters={"k": result["ledgerEntryKey"]}).result_rows[0]
    assert (row[0].replace(tzinfo=dt.UTC), row[1], row[2]) == (dt.datetime(2025, 8, 26, 12, tzinfo=dt.UTC), alice,
                                                                "credit")
    # one reward.distributed webhook, in the seed's shape, enqueued once in the signed outbox
    events = api.call("GET", "/audit", "admin", params={"event": "reward.distributed"})
    assert events["page"]["totalElements"] == 1
    assert {k: events["content"][0]["eventBody"][k] for k in ("event", "userId", "amount", "contributionType",
                                                               "distributedAt")} == {
        "event": "reward.distributed", "userId": alice, "amount": 7.56, "contributionType": "development",
        "distributedAt": "2025-08-26T12:00:00Z"}
    (delivery,) = reward_deliveries(api.ch, ["https://hooks.example.com/sfr"], NOW - DAY, NOW)
    assert delivery.event == "reward.distributed" and json.loads(delivery.body) == events["content"][0]["eventBody"]
    job = NotifyJob(api.ch, ["https://hooks.example.com/sfr"], "secret", clock=api.clock)
    assert job.enqueue(NOW + dt.timedelta(seconds=5)) == 1  # (the outbox's TTL drops 2025 rows at once: no rerun)

    summary = api.call("GET", "/summary/me", params={"period": "monthly", "from": "2025-08-01T00:00:00Z",
                                                     "to": "2025-08-31T23:59:59Z"})
    assert summary == {"userId": alice, "period": "monthly", "fromDate": "2025-08-01T00:00:00Z",
                       "toDate": "2025-08-31T23:59:59Z",
                       "summary": {"totalEarned": 7.56, "totalDistributed": 7.56, "pending": 0.0,
                                   "contributionBreakdown": {"development": 7.56}, "averageHoldingFactor": 1.8,
                                   "contributionCount": 1, "totalEarnedUnits": 756_000_000,
                                   "totalDistributedUnits": 756_000_000, "pendingUnits": 0}}
    assert api.call("GET", "/summary/me", params={"period": "yearly"}, expect=400)["code"] == "INVALID_REQUEST"
    assert api.call("GET", "/statistics/system", expect=403)["code"] == "REWARD_004"
    stats = api.call("GET", "/statistics/system", "admin", params={"period": "monthly"})
    assert (stats["totalCalculated"], stats["totalDistributed"], stats["pendingDistribution"]) == (7.56, 7.56, 0.0)
    assert stats["participatingUsers"] == 1 and stats["averageRewardPerUser"] == 7.56
    assert stats["topContributionTypes"] == [{"type": "development", "amount": 7.56, "percentage": 100.0,
                                              "amountUnits": 756_000_000}]
    assert stats["marketMetrics"] == {"averagePrice": 145.5, "priceVolatility": 0.0, "averageMarketFactor": 1.2,
                                      "priceCount": 1}
    actions = {e["action"] for e in api.call("GET", "/audit", "admin", params={"size": 100})["content"]}
    assert {"sfr.stake", "sfr.payment", "contribution.create", "calculation.calculate", "calculation.approve",
            "distribution.distribute", "market_price.record"} <= actions


def test_state_machine_refuses_illegal_moves_all_or_nothing(api: Api) -> None:
    good, bad = api.calculated(), api.calculated(referenceId="second")
    rejected = api.call("POST", "/reject", "admin", json={"calculationIds": [bad], "reason": "duplicate"})
    assert rejected["newlyRejectedCount"] == 1 and api.status(bad) == "REJECTED"
    assert api.call("POST", "/reject", "admin", json={"calculationIds": [bad]})["newlyRejectedCount"] == 0
    refused = api.call("POST", "/approve", "admin", json={"calculationIds": [good, bad]}, expect=409)
    assert refused["code"] == "REWARD_006" and refused["details"]["status"] == "REJECTED"
    assert api.status(good) == "CALCULATED"  # nothing of the request was done
    assert api.call("POST", "/approve", "admin", json={"calculationIds": [good, 999]}, expect=404)["code"] == "NOT_FOUND"
    (dist,) = api.call("POST", "/approve", "admin", json={"calculationIds": [good]})["distributionIds"]
    api.call("POST", "/distribute", "admin", json={"distributionIds": [dist]})
    late = api.call("POST", "/reject", "admin", json={"calculationIds": [good]}, expect=409)
    assert late["code"] == "REWARD_006" and api.status(good) == "DISTRIBUTED"

    third = api.calculated(referenceId="third")
    (d3,) = api.call("POST", "/approve", "admin", json={"calculationIds": [third]})["distributionIds"]
    api.call("POST", "/reject", "admin", json={"calculationIds": [third]})
    gone = api.call("POST", "/distribute", "admin", json={"distributionIds": [d3]}, expect=409)
    assert gone["code"] == "REWARD_006" and gone["details"]["status"] == "REJECTED"
    future = api.call("POST", "/distribute", "admin", expect=400,
                      json={"distributionIds": [dist], "executionDate": iso(NOW + DAY)})
    assert future["code"] == "INVALID_REQUEST"
    assert api.sfr_rewards() == (1, 350_000_000)  # 1.4 × 2.5 × 1.0 × 1.0, once


def test_limits_stop_over_distribution_and_the_ledger_sums_exactly(api: Api) -> None:
    calcs = [api.calculated(referenceId=f"r{i}") for i in range(3)]  # 3.5 SFR each
    assert api.call("POST", "/limits", json={"limitType": "MONTHLY", "maxAmount": 10}, expect=403)["code"] == "REWARD_004"
    monthly = api.call("POST", "/limits", "admin", expect=201,
                       json={"limitType": "MONTHLY", "category": "development", "maxAmount": 10.00})
    assert (monthly["periodStart"], monthly["periodEnd"]) == ("2025-08-01T00:00:00Z", "2025-08-31T23:59:59.999000Z")
    (d1, d2) = api.call("POST", "/approve", "admin", json={"calculationIds": calcs[:2]})["distributionIds"]
    over = api.call("POST", "/approve", "admin", json={"calculationIds": calcs[2:]}, expect=400)
    assert over["code"] == "REWARD_003" and over["details"]["usedAmountUnits"] == 700_000_000
    assert api.status(calcs[2]) == "CALCULATED"
    daily = api.call("POST", "/limits", "admin", expect=201, json={"limitType": "DAILY", "maxAmount": 5})
    assert daily["category"] == "all"
    # both at once (7.0 SFR today) pass the monthly limit but not the daily one: nothing is distributed
    refused = api.call("POST", "/distribute", "admin", json={"distributionIds": [d1, d2]}, expect=400)
    assert refused["code"] == "REWARD_003" and api.sfr_rewards() == (0, 0)
    # an approved distribution counts at its approval (today) until distributed: d2 executed yesterday leaves
    # today's limit, and then d1 fits
    api.call("POST", "/distribute", "admin", json={"distributionIds": [d2], "executionDate": iso(NOW - DAY)})
    assert api.call("POST", "/distribute", "admin", json={"distributionIds": [d1]})["newlyDistributedCount"] == 1
    listed = api.call("GET", "/limits", "admin")
    assert [(x["limitId"], x["usedAmountUnits"]) for x in listed["content"]] == [
        (daily["limitId"], 350_000_000), (monthly["limitId"], 700_000_000)]
    distributed = api.scalar("SELECT sum(amount_units) FROM reward_distributions FINAL WHERE state = 'DISTRIBUTED'")
    assert api.sfr_rewards() == (2, int(distributed)) == (2, 700_000_000)
    for body in ({"limitType": "HOURLY", "maxAmount": 1}, {"limitType": "DAILY", "maxAmount": 0},
                 {"limitType": "DAILY", "maxAmount": 0.000000001},
                 {"limitType": "DAILY", "maxAmount": 1, "periodStart": iso(NOW), "periodEnd": iso(NOW - DAY)}):
        assert api.call("POST", "/limits", "admin", json=body, expect=400)["code"] == "INVALID_REQUEST"
    bad = api.call("POST", "/limits", "admin", json={"limitType": "DAILY", "maxAmount": 1, "category": "x"}, expect=400)
    assert bad["code"] == "REWARD_005"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/approve"), ("POST", "/reject"), ("POST", "/distribute"), ("POST", "/limits"), ("GET", "/limits"),
    ("GET", "/statistics/system"), ("GET", "/audit"), ("POST", "/sfr-movements")])
def test_user_tokens_on_admin_routes_are_reward_004(api: Api, method: str, path: str) -> None:
    body: dict[str, Any] = {"json": {}} if method == "POST" else {}
    refused = api.call(method, path, "alice", expect=403, **body)
    assert refused["code"] == "REWARD_004" and refused["type"].endswith("REWARD_004")
    assert refused["instance"] == f"/api/v1/rewards{path}"
    if path == "/sfr-movements":  # SYSTEM only: an admin is refused too
        assert api.call(method, path, "admin", expect=403, **body)["code"] == "REWARD_004"
    assert json.loads(json.dumps(refused))["title"]
