"""Seed 003's test endpoints ("テスト用エンドポイント", development and test only): registered by the router only
when `SFR_TEST_ENDPOINTS` is on (`RewardsSettings.test_endpoints`); otherwise they do not exist (404). ADMIN.

- `POST /rewards/test/generate-sample-data`: for SAMPLE_USERS fixed sample userIds, one contribution record of
  every seed contribution type (the development one is the seed's own example, score 2.5), recorded through
  api/rewards/contributions.py with source `sample`, and the market price 145.50 JPY (source `sample`: M = 1.2
  against the default target 150.00). Each call adds a new set.
- `DELETE /rewards/test/reset-calculations`: deletes every calculation whose current state is CALCULATED or
  REJECTED (all its versions), so their contributions can be calculated afresh. APPROVED and DISTRIBUTED ones
  are kept (money is committed or paid: nothing of the ledger or the distributions is touched); the answer
  counts them. A test tool: a deleted id may be given again to a later calculation. Audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, delete, post

from api.rewards.access import ADMIN
from api.rewards.context import RewardsContext
from api.rewards.contributions import ContributionIn, create_contribution
from api.rewards.market import MarketPriceIn, record_price
from api.security import Principal
from schemas.sfr import ActivityType, CalculationStatus, ContributionType

SAMPLE_USERS = 3
SAMPLE_PRICE_JPY = Decimal("145.50")
_T, _A = ContributionType, ActivityType
#: (contribution type, activity, metrics): one record of each seed contribution type
SAMPLES: tuple[tuple[ContributionType, ActivityType, dict[str, Any]], ...] = (
    (_T.DEVELOPMENT, _A.COMMIT, {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30}),
    (_T.LIQUIDITY, _A.PROVIDE_LIQUIDITY, {"liquidityAmount": 1000, "durationDays": 30}),
    (_T.GOVERNANCE, _A.SUBMIT_PROPOSAL, {"proposalsCount": 1, "proposalsAccepted": 1, "votesCount": 5}),
    (_T.EDUCATION, _A.CREATE_COURSE, {"coursesCount": 1, "participantsCount": 50}),
    (_T.COMMERCE, _A.SFR_PAYMENT, {"paymentsCount": 10, "paymentAmount": 250}),
    (_T.UX, _A.UX_IMPROVEMENT, {"feedbackCount": 3, "improvementsCount": 1}),
)
_STATES = ("SELECT status, groupArray(calculation_id) FROM (SELECT calculation_id, status FROM reward_calculations "
           "FINAL) GROUP BY status")
_DELETE = "DELETE FROM reward_calculations WHERE calculation_id IN {ids:Array(UInt64)}"


def sample_user(n: int) -> str:
    """The n-th sample userId (a fixed UUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://poolstream.invalid/sfr/sample-user/{n}"))


class SampleData(msgspec.Struct, frozen=True, rename="camel"):
    user_ids: list[str]
    contribution_record_ids: list[int]
    market_price_id: int
    market_price_jpy: float
    message: str


class ResetResult(msgspec.Struct, frozen=True, rename="camel"):
    deleted_calculations: int
    deleted_calculation_ids: list[int]
    kept_calculations: dict[str, int]  # APPROVED / DISTRIBUTED -> how many were kept
    message: str


async def generate(ctx: RewardsContext, caller: Principal, ip: str) -> SampleData:
    now = ctx.now()
    users = [sample_user(n) for n in range(1, SAMPLE_USERS + 1)]
    ids = []
    for user in users:
        for ctype, activity, metrics in SAMPLES:
            made = await create_contribution(ctx, caller, ip, ContributionIn(
                str(ctype), str(activity), reference_id=f"sample-{uuid.uuid4().hex[:12]}", reference_type="sample",
                metrics=metrics, activity_date=now - dt.timedelta(hours=1), user_id=user), source="sample")
            ids.append(made.contribution_record_id)
    price = await record_price(ctx, caller, ip, MarketPriceIn(SAMPLE_PRICE_JPY, "sample", price_timestamp=now))
    return SampleData(users, ids, price.price_id, price.price_jpy,
                      f"{len(ids)} contribution records for {len(users)} sample users and a market price")


async def reset(ctx: RewardsContext, caller: Principal, ip: str) -> ResetResult:
    async with ctx.lock:
        by_state = {str(s): sorted(int(i) for i in ids) for s, ids in await ctx.db.rows(_STATES, {})}
        gone = sorted(by_state.get(CalculationStatus.CALCULATED, []) + by_state.get(CalculationStatus.REJECTED, []))
        if gone:
            await ctx.db.command(_DELETE, {"ids": gone})
    kept = {str(s): len(by_state.get(s, [])) for s in (CalculationStatus.APPROVED, CalculationStatus.DISTRIBUTED)}
    await ctx.audit.record(caller, ip, "test.reset_calculations", "calculation", "*",
                           before={"calculationIds": gone}, after={"deleted": len(gone), "kept": kept})
    return ResetResult(len(gone), gone, kept, f"{len(gone)} calculations deleted; approved and distributed ones kept")


class TestingController(Controller):
    path = "/test"
    tags = ["rewards"]

    @post("/generate-sample-data", status_code=201, guards=ADMIN,
          summary="Generate sample contributions and a market price (test endpoints only)")
    async def generate_sample_data(self, rewards: RewardsContext, caller: Principal,
                                   request: Request[Any, Any, Any]) -> SampleData:
        return await generate(rewards, caller, request.client.host if request.client else "")

    @delete("/reset-calculations", status_code=200, guards=ADMIN,
            summary="Delete CALCULATED and REJECTED calculations (test endpoints only)")
    async def reset_calculations(self, rewards: RewardsContext, caller: Principal,
                                 request: Request[Any, Any, Any]) -> ResetResult:
        return await reset(rewards, caller, request.client.host if request.client else "")
