"""A client written against seed 003 (`../shared/seeds/003_*.txt`, the SFR reward API), word by word, against
`poolstream run`: JWTs for a user, an ADMIN and a SYSTEM caller; a market price; a contribution; its
calculation with every factor and the formula string; approval and distribution; the user's summary, the
system statistics and the holding incentive; the daily batch; an error as RFC 7807 with its REWARD code.
Field names and JSON types are the seed's; the seed's request bodies are sent as they are."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "operator", "a long operator password 1"
USER_PASSWORD = "a long contributor password 1"
NUMBER = (int, float)
UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")  # users.user_id: uuid4 hex
PROBLEM = {"type", "title", "status", "detail", "instance", "code", "timestamp"}


@pytest.fixture()
def system(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.env.update(API_ADMIN_USER=ADMIN, API_ADMIN_PASSWORD=PASSWORD, API_JWT_SECRET="an e2e jwt secret of at least 32 chars",
                 STRATUM_ENABLED="false")
    s.start()
    try:
        yield s
    finally:
        s.close()


def types(body: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, kind in expected.items():
        assert isinstance(body[name], kind), (name, body.get(name))


def test_a_seed_003_client_works_unchanged(system: System) -> None:
    base = f"http://127.0.0.1:{system.api_port}/api/v1"

    def token(username: str, password: str) -> httpx.Client:
        issued = httpx.post(f"{base}/auth/token", json={"username": username, "password": password}, timeout=10)
        assert issued.status_code == 200, issued.text
        return httpx.Client(base_url=f"{base}/rewards", timeout=20,
                            headers={"Authorization": f"Bearer {issued.json()['data']['token']}"})

    admin = token(ADMIN, PASSWORD)
    for name, role in (("contributor", "write"), ("rewards-system", "system")):
        made = admin.post(f"{base}/users", json={"username": name, "password": USER_PASSWORD, "role": role})
        assert made.status_code == 201, made.text
    user, system_caller = token("contributor", USER_PASSWORD), token("rewards-system", USER_PASSWORD)

    # 7.2 市場価格更新 (SYSTEM): the seed's body
    price = system_caller.post("/market-price", json={"priceJpy": 147.25, "priceSource": "exchange_api",
                                                      "volume24h": 50000.00, "marketCap": 14725000.00,
                                                      "priceTimestamp": "2025-08-26T10:30:00Z"})
    assert price.status_code in (200, 201), price.text
    # 1.1 貢献記録作成
    created = user.post("/contributions", json={
        "contributionType": "development", "activityType": "commit", "referenceId": "pr-4711", "referenceType": "github",
        "metrics": {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30},
        "activityDate": "2025-08-26T10:00:00Z"})
    assert created.status_code in (200, 201), created.text
    record = created.json()
    types(record, {"contributionRecordId": int, "contributionScore": NUMBER, "status": str, "message": str})
    assert record["contributionScore"] == 2.5 and record["status"] == "RECORDED"
    # 1.2 貢献記録一覧取得 (PageResponse)
    listed = user.get("/contributions", params={"contributionType": "development", "from": "2025-08-01T00:00:00Z",
                                                "to": "2025-08-31T23:59:59Z", "page": 0, "size": 20}).json()
    assert set(listed) == {"content", "page"} and listed["page"] == {"number": 0, "size": 20, "totalElements": 1,
                                                                      "totalPages": 1}
    item = listed["content"][0]
    assert item["id"] == record["contributionRecordId"] and item["metrics"]["commitsCount"] == 5
    types(item, {"contributionType": str, "activityType": str, "contributionScore": NUMBER, "activityDate": str})

    # 2.1 報酬計算実行: every factor and the formula (147.25 JPY against the 150.00 target: M 1.1; no SFR held: H 1.0)
    calc = user.post("/calculate", json={"contributionRecordId": record["contributionRecordId"],
                                         "forceRecalculate": False}).json()
    types(calc, {"calculationId": int, "userId": str, "contributionRecordId": int, "factors": dict,
                 "calculatedAmount": NUMBER, "finalAmount": NUMBER, "calculationFormula": str,
                 "marketPriceJpy": NUMBER, "status": str, "calculatedAt": str})
    assert UUID.match(calc["userId"]) and calc["status"] == "CALCULATED"
    assert calc["factors"] == {"baseFactor": 1.4, "contributionScore": 2.5, "marketFactor": 1.1, "holdingFactor": 1.0}
    assert calc["calculationFormula"] == "1.4 × 2.5 × 1.1 × 1.0 = 3.85 SFR" and calc["finalAmount"] == 3.85
    assert calc["marketPriceJpy"] == 147.25
    # an error as RFC 7807 with the seed's code: calculated again without forceRecalculate
    again = user.post("/calculate", json={"contributionRecordId": record["contributionRecordId"]})
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    problem = again.json()
    assert PROBLEM <= set(problem) and problem["code"] == "REWARD_006" and problem["status"] == 409
    bad_type = user.post("/contributions", json={"contributionType": "art", "activityType": "commit"})
    assert bad_type.status_code == 400 and bad_type.json()["code"] == "REWARD_005"
    assert user.put("/factors", json={"baseFactors": {"development": 1.5}}).json()["code"] == "REWARD_004"

    # 5.1 承認, 5.2 配布 (ADMIN)
    approved = admin.post("/approve", json={"calculationIds": [calc["calculationId"]],
                                            "approvalComment": "2025年8月分の報酬配布を承認"}).json()
    types(approved, {"approvedCount": int, "totalApprovedAmount": NUMBER, "distributionIds": list, "approvedAt": str,
                     "approvedBy": str})
    assert approved["approvedCount"] == 1 and approved["totalApprovedAmount"] == 3.85
    executed = admin.post("/distribute", json={"distributionIds": approved["distributionIds"],
                                               "executionDate": dt.datetime.now(dt.UTC).isoformat()})
    assert executed.status_code == 200, executed.text

    # 6.1 ユーザー報酬サマリー, 6.2 システム全体統計, 4.1 保有インセンティブ
    now = dt.datetime.now(dt.UTC)
    summary = user.get(f"/summary/{calc['userId']}", params={
        "period": "monthly", "from": "2025-08-01T00:00:00Z", "to": (now + dt.timedelta(days=1)).isoformat()}).json()
    types(summary, {"userId": str, "period": str, "summary": dict, "fromDate": str, "toDate": str})
    types(summary["summary"], {"totalEarned": NUMBER, "totalDistributed": NUMBER, "pending": NUMBER,
                               "contributionBreakdown": dict, "contributionCount": int})
    assert summary["summary"]["totalDistributed"] == 3.85 and summary["summary"]["pending"] == 0
    stats = admin.get("/statistics/system", params={"period": "monthly"}).json()
    types(stats, {"period": str, "totalCalculated": NUMBER, "totalDistributed": NUMBER, "pendingDistribution": NUMBER,
                  "participatingUsers": int, "topContributionTypes": list, "averageRewardPerUser": NUMBER,
                  "marketMetrics": dict})
    assert stats["totalDistributed"] >= 3.85 and stats["topContributionTypes"][0]["type"] == "development"
    incentive = user.get(f"/holding-incentive/{calc['userId']}").json()
    types(incentive, {"userId": str, "holdingFactor": NUMBER, "breakdown": dict, "details": dict,
                      "calculationDate": str})
    assert set(incentive["breakdown"]) == {"baseHolding", "stakingBonus", "paymentUsageBonus", "priceSupportBonus"}
    assert {"holdingDays", "stakingMonths", "paymentUsageCount", "currentPrice"} <= set(incentive["details"])

    # バッチ処理API (SYSTEM): once a day; seed rate limits per role
    daily = system_caller.post("/batch/daily").json()
    assert daily["state"] == "succeeded" and daily["alreadyRun"] is False
    assert system_caller.post("/batch/daily").json()["alreadyRun"] is True
    assert user.post("/batch/daily").status_code == 403
    assert int(user.get("/factors/current").headers["X-RateLimit-Limit"]) == 100
    assert int(admin.get("/factors/current").headers["X-RateLimit-Limit"]) == 500
    assert "X-RateLimit-Limit" not in system_caller.get("/factors/current").headers
    assert user.post("/test/generate-sample-data").status_code == 404  # test endpoints are off by default
