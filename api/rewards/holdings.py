"""Holding incentive H per user (seed 003 §4): `GET /rewards/holding-incentive/{userId}` (computed now from the
user's SFR in the ledger) and `GET …/{userId}/history?from=&to=` (their stored snapshots). The only writer of
`reward_holding_snapshots`.

How H is found: the user's SFR movements (api/rewards/sfr_ledger.py) give the details (kernels.sfr_holding:
FIFO lots, amount-weighted holding days and staking months, payments, average price of the held lots at the
prices of their arrival); the current price is the newest market price (none recorded: 0, no price support);
kernels.sfr.holding_breakdown turns them into the four parts, H their sum. No SFR movement at all: H = 1.0.

Snapshots: a GET stores its figures when they differ from the user's latest snapshot or that one is from an
earlier UTC day; `snapshot_all(ctx, at)` (the daily batch) stores every holder's. `{userId}` may be `me`.

What the other rewards modules rely on: `await holding_factor_for(ctx, user_id, at)` -> H (Decimal, at most 4
places): the user's latest snapshot at or before `at`; with none, H computed from the ledger as of `at`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from api.errors import InvalidRequest
from api.rewards import sfr_ledger
from api.rewards.access import USER
from api.rewards.context import RewardsContext
from api.rewards.market import current_price
from api.rewards.owner import owner
from api.rewards.paging import PageQuery, PageResponse
from api.rewards.problems import PROBLEMS
from api.security import Principal
from kernels.sfr import DEFAULT_HOLDING_FACTOR, holding_breakdown
from kernels.sfr_holding import holding
from schemas.sfr import SFR, sfr_amount

COLUMNS = ("user_id", "calculation_date", "holding_factor", "base_holding", "staking_bonus", "payment_usage_bonus",
           "price_support_bonus", "holding_days", "staking_months", "staking_units", "payment_usage_count",
           "average_holding_price_jpy", "current_price_jpy", "price_support_ratio", "computed_at", "holding_units")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM reward_holding_snapshots FINAL"
_LATEST = (f"{_SELECT} WHERE user_id = {{u:String}} AND calculation_date <= fromUnixTimestamp64Milli({{at:Int64}}, "
           "'UTC') ORDER BY calculation_date DESC LIMIT 1")
_HOLDERS = ("SELECT DISTINCT address FROM ledger WHERE coin = {c:String} AND address != '' "
            "AND NOT endsWith(address, {s:String}) UNION DISTINCT SELECT DISTINCT user_id FROM reward_calculations")
_FIGURES = slice(2, 14)  # the columns compared to decide whether a GET stores a new snapshot


@dataclass(frozen=True)
class Incentive:
    """One user's holding incentive at `calculation_date` (a snapshot row, in COLUMNS order)."""

    user_id: str
    calculation_date: dt.datetime
    holding_factor: Decimal
    base_holding: Decimal
    staking_bonus: Decimal
    payment_usage_bonus: Decimal
    price_support_bonus: Decimal
    holding_days: int
    staking_months: int
    staking_units: int
    payment_usage_count: int
    average_holding_price_jpy: Decimal
    current_price_jpy: Decimal
    price_support_ratio: Decimal
    computed_at: dt.datetime
    holding_units: int

    def row(self) -> list[Any]:
        return [getattr(self, c) for c in COLUMNS]


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _of(row: Any) -> Incentive:
    v = dict(zip(COLUMNS, row, strict=True))
    for name in ("holding_days", "staking_months", "staking_units", "payment_usage_count", "holding_units"):
        v[name] = int(v[name])
    for name in ("calculation_date", "computed_at"):
        v[name] = _utc(v[name])
    for name in ("holding_factor", "base_holding", "staking_bonus", "payment_usage_bonus", "price_support_bonus",
                 "average_holding_price_jpy", "current_price_jpy", "price_support_ratio"):
        v[name] = Decimal(v[name])
    return Incentive(**v)


async def compute(ctx: RewardsContext, user_id: str, at: dt.datetime) -> Incentive:
    """The holding incentive of `user_id` as of `at`, from the ledger (nothing stored)."""
    moves = await sfr_ledger.movements(ctx, user_id, at)
    price = await current_price(ctx, at)
    current = price.price_jpy if price is not None else Decimal(0)
    h = holding(moves, ctx.ms(at))
    b = holding_breakdown(h.holding_days, h.staking_months, h.staked_units, h.payment_count, h.average_price_jpy,
                          current)
    factor = b.holding_factor if moves else DEFAULT_HOLDING_FACTOR
    return Incentive(user_id, at, factor, b.base_holding, b.staking_bonus, b.payment_usage_bonus,
                     b.price_support_bonus, h.holding_days, h.staking_months, h.staked_units, h.payment_count,
                     h.average_price_jpy, current, b.price_support_ratio, ctx.now(), h.held_units)


async def latest(ctx: RewardsContext, user_id: str, at: dt.datetime) -> Incentive | None:
    rows = await ctx.db.rows(_LATEST, {"u": user_id, "at": ctx.ms(at)})
    return _of(rows[0]) if rows else None


async def holding_factor_for(ctx: RewardsContext, user_id: str, at: dt.datetime) -> Decimal:
    found = await latest(ctx, user_id, at)
    return found.holding_factor if found is not None else (await compute(ctx, user_id, at)).holding_factor


async def store(ctx: RewardsContext, incentives: list[Incentive]) -> None:
    if incentives:
        await ctx.insert("reward_holding_snapshots", [i.row() for i in incentives], COLUMNS)


async def snapshot_all(ctx: RewardsContext, at: dt.datetime) -> int:
    """Store a snapshot at `at` for every user with SFR in the ledger or a calculation (the daily recompute);
    returns how many. Rerunning with the same `at` replaces the same rows."""
    users = [str(r[0]) for r in await ctx.db.rows(_HOLDERS, {"c": SFR, "s": sfr_ledger.STAKED_SUFFIX})]
    found = [await compute(ctx, user, at) for user in sorted(users)]
    await store(ctx, found)
    return len(found)


class BreakdownOut(msgspec.Struct, frozen=True, rename="camel"):
    base_holding: float
    staking_bonus: float
    payment_usage_bonus: float
    price_support_bonus: float


class DetailsOut(msgspec.Struct, frozen=True, rename="camel"):
    holding_days: int
    staking_months: int
    staking_amount: float
    payment_usage_count: int
    average_holding_price: float
    current_price: float
    price_support_ratio: float
    staking_units: int  # exact: units of 10^-8 SFR
    holding_amount: float  # SFR held (free + staked)
    holding_units: int


class IncentiveOut(msgspec.Struct, frozen=True, rename="camel"):
    user_id: str
    holding_factor: float
    breakdown: BreakdownOut
    details: DetailsOut
    calculation_date: dt.datetime


def out(i: Incentive) -> IncentiveOut:
    return IncentiveOut(
        i.user_id, float(i.holding_factor),
        BreakdownOut(float(i.base_holding), float(i.staking_bonus), float(i.payment_usage_bonus),
                     float(i.price_support_bonus)),
        DetailsOut(i.holding_days, i.staking_months, float(sfr_amount(i.staking_units)), i.payment_usage_count,
                   float(i.average_holding_price_jpy), float(i.current_price_jpy), float(i.price_support_ratio),
                   i.staking_units, float(sfr_amount(i.holding_units)), i.holding_units),
        i.calculation_date)


async def incentive_now(ctx: RewardsContext, user_id: str) -> Incentive:
    """Computed now; stored as a snapshot when new (module docstring)."""
    now = ctx.now()
    found = await compute(ctx, user_id, now)
    async with ctx.lock:
        last = await latest(ctx, user_id, now)
        if last is None or last.row()[_FIGURES] != found.row()[_FIGURES] \
                or last.calculation_date.date() != now.date():
            await store(ctx, [found])
    return found


async def snapshots_of(ctx: RewardsContext, user_id: str, page: PageQuery, since: dt.datetime | None,
                  until: dt.datetime | None) -> PageResponse[IncentiveOut]:
    if since is not None and until is not None and since > until:
        raise InvalidRequest("`from` must not be after `to`", details={"field": "from"})
    where, params = ["user_id = {u:String}"], dict[str, Any](u=user_id)
    if since is not None:
        where.append("calculation_date >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")
        params["since"] = ctx.ms(since)
    if until is not None:
        where.append("calculation_date <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')")
        params["until"] = ctx.ms(until)
    cond = " AND ".join(where)
    total = int((await ctx.db.rows(f"SELECT count() FROM reward_holding_snapshots FINAL WHERE {cond}", params))[0][0])
    rows = await ctx.db.rows(f"{_SELECT} WHERE {cond} ORDER BY calculation_date DESC LIMIT {{n:UInt32}} "
                             "OFFSET {o:UInt64}", {**params, "n": page.size, "o": page.offset})
    return PageResponse.of([out(_of(r)) for r in rows], page, total)


class HoldingsController(Controller):
    path = "/holding-incentive"
    tags = ["rewards"]

    @get("/{user_id:str}", summary="A user's holding incentive factor H, now (`me`: the caller's)", guards=USER, responses=PROBLEMS)
    async def current(self, user_id: str, rewards: RewardsContext, caller: Principal) -> IncentiveOut:
        return out(await incentive_now(rewards, await owner(rewards, caller, user_id)))

    @get("/{user_id:str}/history", summary="A user's holding incentive snapshots, newest first", guards=USER, responses=PROBLEMS)
    async def history(self, user_id: str, rewards: RewardsContext, caller: Principal, page_query: PageQuery,
                      from_: Annotated[dt.datetime | None, Parameter(query="from")] = None,
                      to: dt.datetime | None = None) -> PageResponse[IncentiveOut]:
        return await snapshots_of(rewards, await owner(rewards, caller, user_id), page_query, from_, to)
