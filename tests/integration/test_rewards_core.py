"""The SFR rewards core against a real chDB with real API keys (issue 11, seed 003): a contribution with the
seed's body scores 2.5; with the seed's market price and holding details the calculation is exactly the seed's
"1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"; REWARD_001/004/005/006 as RFC 7807 problems; forced recalculation;
batch and single agree; contributions are private to their user; factor versions with an effective date,
audited, with a factors.updated webhook enqueued; per-role rate limits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.rewards import RewardsSettings
from jobs.alert_notify import NotifyJob
from schemas.clock import FixedClock
from tests.integration.test_api_roles import Probe
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

#: today (not the seed's 2025-08-26: the outbox's 90-day TTL is judged by the wall clock)
NOW = dt.datetime.now(dt.UTC).replace(hour=10, minute=15, second=0, microsecond=0)
LATER = NOW + dt.timedelta(days=6)


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


SEED_CONTRIBUTION = {
    "contributionType": "development", "activityType": "commit", "referenceId": "c0ffee", "referenceType": "git",
    "metrics": {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30},
    "activityDate": "2025-08-26T10:00:00Z",
}
SEED_PRICE = {"priceJpy": 145.50, "priceSource": "exchange_api", "volume24h": 50000.00, "marketCap": 14725000.00,
              "priceTimestamp": "2025-08-26T10:00:00Z"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code", "timestamp"}


@dataclass
class Api:
    client: TestClient[Any]
    clickhouse: Client
    clock: FixedClock
    keys: dict[str, dict[str, str]]

    def call(self, method: str, path: str, who: str = "alice", *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v1/rewards{path}", headers=self.keys[who], **kwargs)
        assert response.status_code == expect, response.text
        if expect >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            body = response.json()
            assert PROBLEM_FIELDS <= set(body) and body["status"] == expect
            assert body["instance"] == f"/api/v1/rewards{path}"
            return body
        return response.json()

    def user_id(self, who: str) -> str:
        rows = self.clickhouse.query("SELECT user_id FROM users FINAL WHERE username = {u:String}",
                                     parameters={"u": who}).result_rows
        return str(rows[0][0])

    def audit(self, action: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.clickhouse.query(
            "SELECT actor, role, target_id, before, after, event, event_body FROM reward_audit "
            "WHERE action = {a:String} ORDER BY at, audit_id", parameters={"a": action}).result_rows]


def make_api(clickhouse: Client, **settings: Any) -> Iterator[Api]:
    clock = FixedClock(NOW)
    keys = {name: auth_headers(create_user_key(clickhouse, role, username=name))
            for name, role in (("alice", "write"), ("bob", "write"), ("reader", "read"), ("admin", "admin"),
                               ("system", "system"))}
    rewards = settings.pop("rewards", RewardsSettings())
    deps = ApiDeps(clickhouse=clickhouse, clock=clock, settings=ApiSettings(**settings), health=Probe(),
                   rewards=rewards)
    with TestClient(create_app(deps)) as client:
        yield Api(client, clickhouse, clock, keys)


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    yield from make_api(clickhouse, rate_limit_enabled=False)


def snapshot(api: Api, who: str, factor: str, at: dt.datetime = NOW) -> None:
    """A holding snapshot as the holdings module writes it (the seed's breakdown and details)."""
    api.clickhouse.insert("reward_holding_snapshots", [[
        api.user_id(who), at, Decimal(factor), Decimal("1.2"), Decimal("0.3"), Decimal("0.1"), Decimal("0.2"), 365, 6,
        1000 * 10**8, 25, Decimal("140"), Decimal("145.5"), Decimal("0.96"), at]],
        column_names=["user_id", "calculation_date", "holding_factor", "base_holding", "staking_bonus",
                      "payment_usage_bonus", "price_support_bonus", "holding_days", "staking_months", "staking_units",
                      "payment_usage_count", "average_holding_price_jpy", "current_price_jpy", "price_support_ratio",
                      "computed_at"])


def test_seed_flow_reproduces_7_56_and_refuses_a_second_calculation(api: Api) -> None:
    created = api.call("POST", "/contributions", json=SEED_CONTRIBUTION, expect=201)
    assert created["contributionScore"] == 2.5 and created["status"] == "RECORDED"
    assert created["message"] == "貢献記録が正常に作成されました"
    assert isinstance(created["contributionRecordId"], int) and created["userId"] == api.user_id("alice")
    price = api.call("POST", "/market-price", "system", json=SEED_PRICE, expect=201)
    assert (price["priceJpy"], price["volume24h"], price["priceSource"]) == (145.5, 50000.0, "exchange_api")
    snapshot(api, "alice", "1.8")

    calc = api.call("POST", "/calculate", json={"contributionRecordId": created["contributionRecordId"],
                                                "forceRecalculate": False})
    assert calc["factors"] == {"baseFactor": 1.4, "contributionScore": 2.5, "marketFactor": 1.2, "holdingFactor": 1.8}
    assert (calc["calculatedAmount"], calc["finalAmount"], calc["finalAmountUnits"]) == (7.56, 7.56, 756_000_000)
    assert calc["calculationFormula"] == "1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"
    assert (calc["marketPriceJpy"], calc["status"], calc["userId"]) == (145.5, "CALCULATED", api.user_id("alice"))
    assert calc["contributionRecordId"] == created["contributionRecordId"]
    assert calc["calculatedAt"] == iso(NOW)

    again = api.call("POST", "/calculate", json={"contributionRecordId": created["contributionRecordId"]}, expect=409)
    assert again["code"] == "REWARD_006" and again["type"].endswith("REWARD_006")
    missing = api.call("POST", "/calculate", json={"contributionRecordId": 999}, expect=404)
    assert missing["code"] == "REWARD_001"

    # Forced: the same calculation replaced with today's figures (H has risen).
    snapshot(api, "alice", "1.95", NOW + dt.timedelta(seconds=1))
    api.clock._at = NOW + dt.timedelta(minutes=1)  # noqa: SLF001 (FixedClock has no setter)
    forced = api.call("POST", "/calculate", json={"contributionRecordId": created["contributionRecordId"],
                                                  "forceRecalculate": True})
    assert forced["calculationId"] == calc["calculationId"] and forced["factors"]["holdingFactor"] == 1.95
    assert forced["calculationFormula"] == "1.4 × 2.5 × 1.2 × 1.95 = 8.19 SFR"
    rows = api.clickhouse.query("SELECT count(), any(final_units) FROM reward_calculations FINAL").result_rows
    assert rows[0] == (1, 819_000_000)
    audit = api.audit("calculation.recalculate")
    assert len(audit) == 1 and json.loads(audit[0][3])["finalAmount"] == 7.56 and json.loads(audit[0][4])["finalAmount"] == 8.19
    assert [r[2] for r in api.audit("contribution.create")] == [str(created["contributionRecordId"])]


def test_approved_or_distributed_calculations_are_never_recalculated(api: Api) -> None:
    cid = api.call("POST", "/contributions", json=SEED_CONTRIBUTION, expect=201)["contributionRecordId"]
    calc = api.call("POST", "/calculate", json={"contributionRecordId": cid})
    assert calc["finalAmount"] == 3.5  # no price (M = 1.0 at the target) and no holding (H = 1.0)
    for status in ("APPROVED", "DISTRIBUTED"):
        api.clickhouse.command(  # the approval module's move, as a newer version of the row
            f"INSERT INTO reward_calculations SELECT * REPLACE ('{status}' AS status, updated_at + INTERVAL 1 SECOND "
            "AS updated_at) FROM reward_calculations FINAL")
        refused = api.call("POST", "/calculate", json={"contributionRecordId": cid, "forceRecalculate": True},
                           expect=409)
        assert refused["code"] == "REWARD_006" and status in refused["detail"]
    api.clickhouse.command("INSERT INTO reward_calculations SELECT * REPLACE ('REJECTED' AS status, updated_at + "
                           "INTERVAL 1 SECOND AS updated_at) FROM reward_calculations FINAL")
    fresh = api.call("POST", "/calculate", json={"contributionRecordId": cid})
    assert fresh["calculationId"] != calc["calculationId"] and fresh["status"] == "CALCULATED"


def test_bad_types_and_other_users_records_are_refused(api: Api) -> None:
    bad = api.call("POST", "/contributions", json={**SEED_CONTRIBUTION, "contributionType": "marketing"}, expect=400)
    assert bad["code"] == "REWARD_005"
    mismatch = api.call("POST", "/contributions", json={**SEED_CONTRIBUTION, "activityType": "vote"}, expect=400)
    assert mismatch["code"] == "REWARD_005"
    mining = {**SEED_CONTRIBUTION, "contributionType": "mining", "activityType": "mining_work",
              "metrics": {"minerDifficulty": 1, "poolDifficulty": 4}}
    assert api.call("POST", "/contributions", json=mining, expect=403)["code"] == "REWARD_004"
    assert api.call("POST", "/contributions", "system", json={**mining, "userId": api.user_id("bob")},
                    expect=201)["contributionScore"] == 2.5
    negative = api.call("POST", "/contributions", json={**SEED_CONTRIBUTION, "metrics": {"commitsCount": -1}},
                        expect=400)
    assert negative["code"] == "INVALID_REQUEST"
    on_behalf = api.call("POST", "/contributions", json={**SEED_CONTRIBUTION, "userId": api.user_id("bob")},
                         expect=403)
    assert on_behalf["code"] == "REWARD_004"
    cid = api.call("POST", "/contributions", "bob", json=SEED_CONTRIBUTION, expect=201)["contributionRecordId"]
    assert api.call("POST", "/calculate", json={"contributionRecordId": cid}, expect=403)["code"] == "REWARD_004"
    assert api.call("POST", "/calculate", "admin", json={"contributionRecordId": cid})["userId"] == api.user_id("bob")
    assert api.call("GET", "/contributions", "reader")["content"] == []


def test_listing_filters_pages_and_privacy(api: Api) -> None:
    for day, ctype, activity in ((1, "development", "commit"), (2, "governance", "vote"), (3, "development", "merge_pr")):
        api.call("POST", "/contributions", json={**SEED_CONTRIBUTION, "contributionType": ctype, "activityType": activity,
                                                 "activityDate": f"2025-08-0{day}T00:00:00Z"}, expect=201)
    api.call("POST", "/contributions", "bob", json=SEED_CONTRIBUTION, expect=201)
    mine = api.call("GET", "/contributions", params={"size": 2})
    assert mine["page"] == {"number": 0, "size": 2, "totalElements": 3, "totalPages": 2}
    assert [c["activityDate"][:10] for c in mine["content"]] == ["2025-08-03", "2025-08-02"]
    item = mine["content"][0]
    assert {"id", "contributionType", "activityType", "contributionScore", "activityDate", "metrics"} <= set(item)
    assert item["metrics"]["commitsCount"] == 5
    second = api.call("GET", "/contributions", params={"size": 2, "page": 1})
    assert [c["activityDate"][:10] for c in second["content"]] == ["2025-08-01"]
    dev = api.call("GET", "/contributions", params={"contributionType": "development", "from": "2025-08-02T00:00:00Z",
                                                    "to": "2025-08-31T00:00:00Z"})
    assert [c["activityType"] for c in dev["content"]] == ["merge_pr"]
    assert api.call("GET", "/contributions", params={"contributionType": "x"}, expect=400)["code"] == "REWARD_005"
    other = api.call("GET", "/contributions", params={"userId": api.user_id("bob")}, expect=403)
    assert other["code"] == "REWARD_004"
    assert api.call("GET", "/contributions", "admin")["page"]["totalElements"] == 4
    bobs = api.call("GET", "/contributions", "admin", params={"userId": api.user_id("bob")})
    assert [c["userId"] for c in bobs["content"]] == [api.user_id("bob")]
    assert api.call("GET", "/contributions", params={"size": 101}, expect=400)["code"] == "INVALID_REQUEST"


def test_batch_and_single_agree(api: Api) -> None:
    api.call("POST", "/market-price", "system", json=SEED_PRICE, expect=201)
    snapshot(api, "alice", "1.8")
    bodies = [SEED_CONTRIBUTION, {**SEED_CONTRIBUTION, "contributionType": "governance", "activityType": "vote",
                                  "metrics": {"votesCount": 3}}]
    singles = [api.call("POST", "/contributions", json=b, expect=201)["contributionRecordId"] for b in bodies]
    batched = [api.call("POST", "/contributions", json=b, expect=201)["contributionRecordId"] for b in bodies]
    single = [api.call("POST", "/calculate", json={"contributionRecordId": i})["finalAmountUnits"] for i in singles]
    batch = api.call("POST", "/calculate/batch", json={"contributionRecordIds": [*batched, 999],
                                                       "calculationDate": iso(NOW)})
    assert batch["batchId"] == "batch_001"
    assert (batch["processedCount"], batch["successCount"], batch["failureCount"]) == (3, 2, 1)
    ok = [r for r in batch["results"] if r["status"] == "CALCULATED"]
    assert [r["contributionRecordId"] for r in ok] == batched
    assert [round(r["finalAmount"] * 10**8) for r in ok] == single == [756_000_000, 64_800_000]
    assert batch["totalCalculatedAmount"] == 8.208 and batch["totalCalculatedAmountUnits"] == sum(single)
    assert batch["results"][2] == {"contributionRecordId": 999, "status": "FAILED", "errorCode": "REWARD_001",
                                   "message": "contribution record 999 not found"}
    stored = api.clickhouse.query("SELECT batch_id, kind, state FROM reward_batches FINAL").result_rows
    assert [tuple(r) for r in stored] == [("batch_001", "calculation", "succeeded")]
    again = api.call("POST", "/calculate/batch", json={"contributionRecordIds": batched})
    assert {r["errorCode"] for r in again["results"]} == {"REWARD_006"} and again["batchId"] == "batch_002"
    assert api.call("POST", "/calculate/batch", json={"contributionRecordIds": []}, expect=400)
    future = api.call("POST", "/calculate/batch", json={"contributionRecordIds": batched,
                                                         "calculationDate": "2030-01-01T00:00:00Z"}, expect=400)
    assert future["code"] == "INVALID_REQUEST"


def test_factor_versions_take_effect_on_their_date_audited_and_notified(api: Api) -> None:
    current = api.call("GET", "/factors/current", "reader")
    assert current["baseFactors"] == {"development": 1.4, "liquidity": 1.3, "governance": 1.0, "education": 1.3,
                                      "commerce": 1.2, "ux": 0.9, "mining": 1.0}
    assert current["marketFactor"] == {"currentPrice": None, "targetPrice": 150.0, "factor": 1.0,
                                       "priceTimestamp": None}
    api.call("POST", "/market-price", "system", json=SEED_PRICE, expect=201)
    market = api.call("GET", "/factors/current")["marketFactor"]
    assert (market["currentPrice"], market["targetPrice"], market["factor"]) == (145.5, 150.0, 1.2)

    update = {"baseFactors": {"development": 1.5, "liquidity": 1.4}, "targetPrice": 155.00,
              "effectiveFrom": iso(LATER), "reason": "市場状況の変化に伴う調整"}
    assert api.call("PUT", "/factors", json=update, expect=403)["code"] == "REWARD_004"
    done = api.call("PUT", "/factors", "admin", json=update)
    assert done["changes"] == {"baseFactor.development": {"from": 1.4, "to": 1.5},
                               "baseFactor.liquidity": {"from": 1.3, "to": 1.4},
                               "targetPrice": {"from": 150.0, "to": 155.0}}
    assert api.call("GET", "/factors/current")["baseFactors"]["development"] == 1.4  # not yet in force
    api.clock._at = LATER  # noqa: SLF001
    now = api.call("GET", "/factors/current")
    assert (now["baseFactors"]["development"], now["baseFactors"]["governance"]) == (1.5, 1.0)
    assert now["effectiveFrom"] == iso(LATER) and now["factorVersion"] == done["factorVersion"]
    assert now["marketFactor"]["factor"] == 1.4  # the new target: 1 + 6 × (155 − 145.5) / 155 = 1.37 -> 1.4
    bad = api.call("PUT", "/factors", "admin", json={"baseFactors": {"marketing": 2}}, expect=400)
    assert bad["code"] == "REWARD_005"
    assert api.call("PUT", "/factors", "admin", json={"reason": "nothing"}, expect=400)["code"] == "INVALID_REQUEST"

    (actor, role, _, before, after, event, body), = api.audit("factors.update")
    assert (actor, role, event) == ("admin", "ADMIN", "factors.updated")
    assert json.loads(before)["baseFactors"]["development"] == "1.4" and json.loads(after)["targetPrice"] == 155.0
    sent = json.loads(body)
    assert sent["event"] == "factors.updated" and sent["effectiveFrom"] == iso(LATER)
    assert sent["changes"]["baseFactor.development"] == {"from": 1.4, "to": 1.5}
    job = NotifyJob(api.clickhouse, ["https://hooks.example.com/sfr"], "secret", clock=api.clock)
    soon = NOW + dt.timedelta(seconds=5)  # the notification job's next run after the PUT
    assert job.enqueue(soon) == 1 and job.enqueue(soon) == 0
    (event_name, posted), = api.clickhouse.query("SELECT event, body FROM alert_deliveries").result_rows
    assert event_name == "factors.updated" and json.loads(posted) == sent


def test_market_price_is_system_only_and_validated(api: Api) -> None:
    assert api.call("POST", "/market-price", "admin", json=SEED_PRICE, expect=403)["code"] == "REWARD_004"
    for bad in ({"priceJpy": -1}, {"priceJpy": 0}, {"priceJpy": "NaN"}, {"priceJpy": 1.00001},
                {"priceJpy": 1, "priceSource": ""}, {"priceJpy": 1, "priceTimestamp": "1900-01-01T00:00:00Z"}):
        assert api.call("POST", "/market-price", "system", json=bad, expect=400)["code"] == "INVALID_REQUEST"
    later = {**SEED_PRICE, "priceJpy": 160, "priceTimestamp": iso(LATER)}  # not yet current
    api.call("POST", "/market-price", "system", json=later, expect=201)
    assert api.call("GET", "/factors/current")["marketFactor"]["currentPrice"] is None
    assert len(api.audit("market_price.record")) == 1


def test_per_role_rate_limits(clickhouse: Client) -> None:
    api = next(make_api(clickhouse, rewards=RewardsSettings(user_per_min=3, admin_per_min=5)))
    statuses = [api.client.get("/api/v1/rewards/factors/current", headers=api.keys["alice"]) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["x-ratelimit-limit"] == "3"
    limited = statuses[3]
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["retry-after"]) >= 1
    admin = [api.client.get("/api/v1/rewards/factors/current", headers=api.keys["admin"]).status_code
             for _ in range(6)]
    assert admin == [200] * 5 + [429]
    system = {api.client.get("/api/v1/rewards/factors/current", headers=api.keys["system"]).status_code
              for _ in range(20)}
    assert system == {200}
