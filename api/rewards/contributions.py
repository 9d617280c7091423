"""Contribution records (seed 003 §1): `POST /rewards/contributions` (user: records the caller's own activity)
and `GET /rewards/contributions` (filters userId, contributionType, from, to; seed paging). The score C comes
from the record's metrics (`kernels.sfr.contribution_score`). The only writer of `reward_contributions`.

What the other rewards modules rely on: `await create_contribution(ctx, caller, ip, data, user_id=...,
source=...)` (also for sample data and mining records), `await contribution(ctx, id)` -> `Contribution | None`.
Mining records (`contributionType` mining) are refused from users (REWARD_004): they come from the pool's
measured work (the mining job, or a SYSTEM caller). ADMIN and SYSTEM may record for another `userId`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter

from api.errors import Forbidden, InvalidRequest
from api.rewards.access import USER
from api.rewards.context import RewardsContext
from api.rewards.paging import PageQuery, PageResponse
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Permission, Principal
from kernels.sfr import contribution_score
from schemas.sfr import ACTIVITIES, RECORDED, ActivityType, ContributionType, RewardCode

CREATED_MESSAGE = "貢献記録が正常に作成されました"  # the seed's message
MAX_METRICS_BYTES = 8192
COLUMNS = ("contribution_id", "user_id", "contribution_type", "activity_type", "reference_id", "reference_type",
           "metrics", "contribution_score", "activity_date", "status", "source", "created_by", "created_at",
           "updated_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM reward_contributions FINAL"


@dataclass(frozen=True)
class Contribution:
    id: int
    user_id: str
    contribution_type: ContributionType
    activity_type: ActivityType
    reference_id: str
    reference_type: str
    metrics: dict[str, Any]
    score: Decimal
    activity_date: dt.datetime
    status: str
    source: str
    created_at: dt.datetime


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _of(row: Any) -> Contribution:
    (cid, user, ctype, activity, ref_id, ref_type, metrics, score, date, status, source, _, created, _) = row
    return Contribution(int(cid), str(user), ContributionType(ctype), ActivityType(activity), str(ref_id),
                        str(ref_type), json.loads(metrics or "{}"), Decimal(score), _utc(date), str(status),
                        str(source), _utc(created))


async def contribution(ctx: RewardsContext, contribution_id: int) -> Contribution | None:
    rows = await ctx.db.rows(f"{_SELECT} WHERE contribution_id = {{id:UInt64}}", {"id": contribution_id})
    return _of(rows[0]) if rows else None


def parse_type(value: str) -> ContributionType:
    try:
        return ContributionType(value)
    except ValueError:
        raise RewardError(RewardCode.INVALID_CONTRIBUTION_TYPE, f"unknown contribution type {value!r}; one of "
                          f"{', '.join(ContributionType)}", field="contributionType") from None


def parse_activity(ctype: ContributionType, value: str) -> ActivityType:
    try:
        activity = ActivityType(value)
    except ValueError:
        raise RewardError(RewardCode.INVALID_CONTRIBUTION_TYPE, f"unknown activity type {value!r}",
                          field="activityType") from None
    if activity not in ACTIVITIES[ctype]:
        raise RewardError(RewardCode.INVALID_CONTRIBUTION_TYPE, f"activity {value!r} is not a {ctype} activity; "
                          f"one of {', '.join(sorted(ACTIVITIES[ctype]))}", field="activityType")
    return activity


class ContributionIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    contribution_type: str
    activity_type: str
    reference_id: str = ""
    reference_type: str = ""
    metrics: dict[str, Any] = msgspec.field(default_factory=dict)
    activity_date: dt.datetime | None = None
    user_id: str | None = None  # ADMIN/SYSTEM only: record for this user


class ContributionCreated(msgspec.Struct, frozen=True, rename="camel"):
    contribution_record_id: int
    user_id: str
    contribution_score: float
    status: str
    message: str


class ContributionOut(msgspec.Struct, frozen=True, rename="camel"):
    id: int
    user_id: str
    contribution_type: str
    activity_type: str
    contribution_score: float
    activity_date: dt.datetime
    metrics: dict[str, Any]
    reference_id: str
    reference_type: str
    status: str
    created_at: dt.datetime


def out(c: Contribution) -> ContributionOut:
    return ContributionOut(c.id, c.user_id, c.contribution_type, c.activity_type, float(c.score), c.activity_date,
                           c.metrics, c.reference_id, c.reference_type, c.status, c.created_at)


async def create_contribution(ctx: RewardsContext, caller: Principal, ip: str, data: ContributionIn, *,
                              source: str = "api") -> ContributionCreated:
    ctype = parse_type(data.contribution_type)
    activity = parse_activity(ctype, data.activity_type)
    own = await ctx.callers.user_id(caller)
    user_id = data.user_id or own
    if user_id != own and not caller.has(Permission.ADMIN):
        raise Forbidden("only an ADMIN or SYSTEM caller records a contribution for another user")
    if ctype is ContributionType.MINING and not caller.has(Permission.SYSTEM):
        raise Forbidden("mining contributions come from the pool's measured work (SYSTEM only)")
    if not 1 <= len(user_id) <= 64 or len(data.reference_id) > 256 or len(data.reference_type) > 64:
        raise InvalidRequest("userId 1..64, referenceId up to 256, referenceType up to 64 characters")
    metrics_json = json.dumps(data.metrics, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if len(metrics_json.encode()) > MAX_METRICS_BYTES:
        raise InvalidRequest(f"`metrics` is larger than {MAX_METRICS_BYTES} bytes of JSON", details={"field": "metrics"})
    try:
        score = contribution_score(activity, data.metrics)
    except ValueError as exc:
        raise InvalidRequest(f"metrics: {exc}", details={"field": "metrics"}) from None
    now = ctx.now()
    date = _utc(data.activity_date) if data.activity_date else now
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= date <= now + dt.timedelta(days=1):
        raise InvalidRequest("`activityDate` must lie between 2000 and now", details={"field": "activityDate"})
    async with ctx.lock:
        cid = await ctx.next_id("reward_contributions")
        row = [cid, user_id, str(ctype), str(activity), data.reference_id, data.reference_type, metrics_json, score,
               date, RECORDED, source, caller.subject, now, now]
        await ctx.insert("reward_contributions", [row], COLUMNS)
    await ctx.audit.record(caller, ip, "contribution.create", "contribution", str(cid),
                           after={"userId": user_id, "contributionType": ctype, "activityType": activity,
                                  "contributionScore": score, "metrics": data.metrics, "activityDate": date,
                                  "source": source})
    return ContributionCreated(cid, user_id, float(score), RECORDED, CREATED_MESSAGE)


async def list_contributions(ctx: RewardsContext, caller: Principal, page: PageQuery, user_id: str | None,
                             contribution_type: str | None, since: dt.datetime | None,
                             until: dt.datetime | None) -> PageResponse[ContributionOut]:
    where, params = ["1"], dict[str, Any]()
    if user_id is not None or not caller.has(Permission.ADMIN):
        user_id = user_id if user_id is not None else await ctx.callers.user_id(caller)
        await ctx.callers.ensure_own(caller, user_id)
        where.append("user_id = {u:String}")
        params["u"] = user_id
    if contribution_type is not None:
        where.append("contribution_type = {t:String}")
        params["t"] = str(parse_type(contribution_type))
    if since is not None:
        where.append("activity_date >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")
        params["since"] = ctx.ms(since)
    if until is not None:
        where.append("activity_date <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')")
        params["until"] = ctx.ms(until)
    cond = " AND ".join(where)
    total = int((await ctx.db.rows(f"SELECT count() FROM reward_contributions FINAL WHERE {cond}", params))[0][0])
    rows = await ctx.db.rows(f"{_SELECT} WHERE {cond} ORDER BY activity_date DESC, contribution_id DESC "
                             "LIMIT {n:UInt32} OFFSET {o:UInt64}", {**params, "n": page.size, "o": page.offset})
    return PageResponse.of([out(_of(r)) for r in rows], page, total)


class ContributionsController(Controller):
    path = "/contributions"
    tags = ["rewards"]

    @post("/", summary="Record a contribution of the caller", guards=USER, responses=PROBLEMS)
    async def create(self, data: ContributionIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> ContributionCreated:
        return await create_contribution(rewards, caller, request.client.host if request.client else "", data)

    @get("/", summary="List contribution records (a user sees their own; ADMIN anyone's)", guards=USER, responses=PROBLEMS)
    async def list(self, rewards: RewardsContext, caller: Principal, page_query: PageQuery,
                   user_id: Annotated[str | None, Parameter(query="userId")] = None,
                   contribution_type: Annotated[str | None, Parameter(query="contributionType")] = None,
                   from_: Annotated[dt.datetime | None, Parameter(query="from")] = None,
                   to: dt.datetime | None = None) -> PageResponse[ContributionOut]:
        return await list_contributions(rewards, caller, page_query, user_id, contribution_type, from_, to)
