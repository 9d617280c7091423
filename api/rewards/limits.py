"""Distribution limits (seed 003 §7.1): `POST /rewards/limits` and `GET /rewards/limits` (ADMIN). The only writer
of `reward_limits`.

A limit caps the SFR of one contribution type (`category`; absent, '' or `all`: every type) whose distributions
are effective between `periodStart` and `periodEnd` (inclusive; absent: the `limitType` period containing now,
kernels.sfr_periods). A distribution counts from its approval (effective at the approval time) until it is
rejected; once distributed it counts at its execution date. Approving or distributing past any active limit is
REWARD_003 (400) and changes nothing of that request (all-or-nothing): `await enforce(ctx, planned, moving)`.
`await retire_expired(ctx, caller, ip, at)` retires the limits whose period ended (the monthly batch's reset).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter

from api.errors import InvalidRequest
from api.rewards import distributions
from api.rewards.access import ADMIN
from api.rewards.context import RewardsContext
from api.rewards.paging import PageQuery, PageResponse
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Principal
from kernels.sfr import show_sfr
from kernels.sfr_periods import FIRST, KINDS, LAST, bounds
from schemas.sfr import MAX_FIGURE, ContributionType, RewardCode, sfr_amount, sfr_units

COLUMNS = ("limit_id", "limit_type", "category", "max_units", "period_start", "period_end", "active", "created_by",
           "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM reward_limits FINAL"
ALL = "all"


@dataclass(frozen=True)
class Limit:
    limit_id: int
    limit_type: str
    category: str  # '' = every contribution type
    max_units: int
    period_start: dt.datetime
    period_end: dt.datetime
    active: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def covers(self, category: str, at: dt.datetime) -> bool:
        return self.active and self.category in ("", category) and self.period_start <= at <= self.period_end

    def row(self) -> list[Any]:
        return [getattr(self, c) if c != "active" else int(self.active) for c in COLUMNS]


@dataclass(frozen=True)
class Planned:
    """SFR about to count against the limits: `units` of `category` effective at `at`."""

    category: str
    units: int
    at: dt.datetime


def breaches(limits: Iterable[Limit], used: dict[int, int], planned: Sequence[Planned]) -> list[tuple[Limit, int]]:
    """The limits `planned` would exceed, each with the units it adds (pure: `used` is what each limit has)."""
    out = []
    for limit in limits:
        adding = sum(p.units for p in planned if limit.covers(p.category, p.at))
        if adding and used.get(limit.limit_id, 0) + adding > limit.max_units:
            out.append((limit, adding))
    return out


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _of(row: Sequence[Any]) -> Limit:
    v = dict(zip(COLUMNS, row, strict=True))
    return Limit(int(v["limit_id"]), str(v["limit_type"]), str(v["category"]), int(v["max_units"]),
                 _utc(v["period_start"]), _utc(v["period_end"]), bool(v["active"]), str(v["created_by"]),
                 _utc(v["created_at"]), _utc(v["updated_at"]))


async def active_limits(ctx: RewardsContext) -> list[Limit]:
    return [_of(r) for r in await ctx.db.rows(f"{_SELECT} WHERE active = 1 ORDER BY limit_id", {})]


async def enforce(ctx: RewardsContext, planned: Sequence[Planned], moving: Iterable[int] = ()) -> None:
    """REWARD_003 when `planned` exceeds an active limit; `moving`: distributions the plan re-times (their
    current counting is left out). Call with `ctx.lock` held, before writing anything."""
    limits = [lim for lim in await active_limits(ctx) if any(lim.covers(p.category, p.at) for p in planned)]
    used = {lim.limit_id: await distributions.committed(ctx, lim.period_start, lim.period_end, lim.category, moving)
            for lim in limits}
    found = breaches(limits, used, planned)
    if found:
        limit, adding = found[0]
        raise RewardError(
            RewardCode.LIMIT_REACHED,
            f"limit {limit.limit_id} ({limit.limit_type}, {limit.category or ALL}) allows {show_sfr(limit.max_units)} "
            f"SFR; {show_sfr(used[limit.limit_id])} SFR is committed and this request adds {show_sfr(adding)} SFR: "
            "nothing of the request was done",
            limitId=limit.limit_id, limitType=limit.limit_type, category=limit.category or ALL,
            maxAmountUnits=limit.max_units, usedAmountUnits=used[limit.limit_id], requestedAmountUnits=adding,
            exceededLimitIds=[lim.limit_id for lim, _ in found])


class LimitIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    limit_type: str
    max_amount: Decimal
    category: str | None = None
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None


class LimitOut(msgspec.Struct, frozen=True, rename="camel"):
    limit_id: int
    limit_type: str
    category: str
    max_amount: float
    max_amount_units: int
    period_start: dt.datetime
    period_end: dt.datetime
    used_amount: float
    used_amount_units: int
    remaining_amount: float
    active: bool
    created_by: str
    created_at: dt.datetime


async def limit_out(ctx: RewardsContext, limit: Limit) -> LimitOut:
    used = await distributions.committed(ctx, limit.period_start, limit.period_end, limit.category)
    return LimitOut(limit.limit_id, limit.limit_type, limit.category or ALL, float(sfr_amount(limit.max_units)),
                    limit.max_units, limit.period_start, limit.period_end, float(sfr_amount(used)), used,
                    float(sfr_amount(max(0, limit.max_units - used))), limit.active, limit.created_by,
                    limit.created_at)


def _parse(data: LimitIn, now: dt.datetime) -> tuple[str, str, int, dt.datetime, dt.datetime]:
    kind = data.limit_type.upper()
    if kind not in KINDS:
        raise InvalidRequest(f"`limitType` is one of {', '.join(KINDS)}", details={"field": "limitType"})
    category = "" if data.category in (None, "", ALL) else str(data.category)
    if category and category not in ContributionType.__members__.values():
        raise RewardError(RewardCode.INVALID_CONTRIBUTION_TYPE, f"unknown contribution type {category!r}",
                          field="category")
    try:
        units = sfr_units(data.max_amount)
    except ValueError:
        units = -1
    if not data.max_amount.is_finite() or units <= 0 or data.max_amount > MAX_FIGURE:
        raise InvalidRequest(f"`maxAmount` is an SFR amount > 0 and <= {MAX_FIGURE} with at most 8 decimal places",
                             details={"field": "maxAmount"})
    default_start, default_end = bounds(kind, now)
    start = _utc(data.period_start) if data.period_start else default_start
    end = _utc(data.period_end) if data.period_end else default_end
    if not FIRST <= start < end <= LAST:
        raise InvalidRequest("`periodStart` must come before `periodEnd`, both between 2000 and 2200",
                             details={"field": "periodEnd"})
    return kind, category, units, start, end


async def create_limit(ctx: RewardsContext, caller: Principal, ip: str, data: LimitIn) -> LimitOut:
    now = ctx.now()
    kind, category, units, start, end = _parse(data, now)
    async with ctx.lock:
        limit_id = await ctx.next_id("reward_limits")
        limit = Limit(limit_id, kind, category, units, start, end, True, caller.subject, now, now)
        await ctx.insert("reward_limits", [limit.row()], COLUMNS)
    out = await limit_out(ctx, limit)
    await ctx.audit.record(caller, ip, "limit.create", "limit", str(limit_id), after=msgspec.to_builtins(out))
    return out


async def retire_expired(ctx: RewardsContext, caller: Principal, ip: str, at: dt.datetime) -> list[int]:
    """Retire (active = 0) every active limit whose period ended before `at`; returns their ids (audited)."""
    async with ctx.lock:
        ended = [lim for lim in await active_limits(ctx) if lim.period_end < at]
        retired = [dataclasses.replace(lim, active=False, updated_at=ctx.version_after(lim.updated_at))
                   for lim in ended]
        if retired:
            await ctx.insert("reward_limits", [lim.row() for lim in retired], COLUMNS)
    for lim in ended:
        await ctx.audit.record(caller, ip, "limit.retire", "limit", str(lim.limit_id), before={"active": True},
                               after={"active": False})
    return [lim.limit_id for lim in ended]


async def list_limits(ctx: RewardsContext, page: PageQuery, active: bool | None) -> PageResponse[LimitOut]:
    cond, params = ("active = {a:UInt8}", {"a": int(active)}) if active is not None else ("1", {})
    total = int((await ctx.db.rows(f"SELECT count() FROM reward_limits FINAL WHERE {cond}", params))[0][0])
    rows = await ctx.db.rows(f"{_SELECT} WHERE {cond} ORDER BY limit_id DESC LIMIT {{n:UInt32}} OFFSET {{o:UInt64}}",
                             {**params, "n": page.size, "o": page.offset})
    return PageResponse.of([await limit_out(ctx, _of(r)) for r in rows], page, total)


class LimitsController(Controller):
    path = "/limits"
    tags = ["rewards"]

    @post("/", summary="Set a distribution limit for a category and period (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def create(self, data: LimitIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> LimitOut:
        return await create_limit(rewards, caller, request.client.host if request.client else "", data)

    @get("/", summary="Distribution limits with what each has used (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def list(self, rewards: RewardsContext, page_query: PageQuery,
                   active: Annotated[bool | None, Parameter(query="active")] = None) -> PageResponse[LimitOut]:
        return await list_limits(rewards, page_query, active)
