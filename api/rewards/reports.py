"""Reward reports (seed 003 §6): `GET /rewards/summary/{userId}?period=&from=&to=` (a user's own; ADMIN anyone's;
`me`: the caller's) and `GET /rewards/statistics/system?period=` (ADMIN). Reads only.

Windows: `period` is daily, weekly (ISO, Monday first) or monthly (default); without `from`/`to` the window is that
period containing now, a missing bound is taken from the period containing the other (kernels.sfr_periods);
both bounds are inclusive. Rejected calculations count nowhere.
- summary: the user's calculations of contributions whose activityDate lies in the window (a month's summary
  is the rewards of that month's contributions, whenever calculated). totalEarned = Σ finalAmount,
  totalDistributed = Σ of the DISTRIBUTED ones, pending = the rest (CALCULATED and APPROVED),
  contributionBreakdown = earned per contribution type, averageHoldingFactor = mean H of those calculations
  (null when none), contributionCount = the user's contribution records in the window.
- statistics: every calculation made (calculatedAt) in the window. averageRewardPerUser = totalDistributed /
  participatingUsers (the seed's 8500 / 250 = 34), topContributionTypes by amount with their percentage of
  totalCalculated (one decimal), marketMetrics from the market prices recorded in the window: averagePrice,
  priceVolatility = population standard deviation / mean (4 places), averageMarketFactor = mean M of the
  calculations. Amounts are exact sums of units (floored to 10^-8 SFR where divided), shown as numbers like
  the seed's, with `…Units` integers beside them.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from api.errors import InvalidRequest
from api.rewards.access import ADMIN, USER
from api.rewards.context import RewardsContext
from api.rewards.owner import owner
from api.rewards.problems import PROBLEMS
from api.security import Principal
from kernels.sfr import floor4
from kernels.sfr_periods import FIRST, LAST, bounds
from schemas.sfr import sfr_amount

PERIODS = ("daily", "weekly", "monthly")
_WINDOW = "BETWEEN fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND fromUnixTimestamp64Milli({e:Int64}, 'UTC')"
_USER_CALCS = (
    "SELECT contribution_type, status, count(), sum(final_units), sum(holding_factor) FROM reward_calculations FINAL "
    "WHERE user_id = {u:String} AND status != 'REJECTED' AND contribution_id IN (SELECT contribution_id FROM "
    f"reward_contributions FINAL WHERE user_id = {{u:String}} AND activity_date {_WINDOW}) "
    "GROUP BY contribution_type, status")
_USER_RECORDS = f"SELECT count() FROM reward_contributions FINAL WHERE user_id = {{u:String}} AND activity_date {_WINDOW}"
_SYSTEM_CALCS = ("SELECT contribution_type, status, count(), sum(final_units), sum(market_factor) "
                 f"FROM reward_calculations FINAL WHERE status != 'REJECTED' AND calculated_at {_WINDOW} "
                 "GROUP BY contribution_type, status")
_SYSTEM_USERS = (f"SELECT uniqExact(user_id) FROM reward_calculations FINAL WHERE status != 'REJECTED' "
                 f"AND calculated_at {_WINDOW}")
_PRICES = ("SELECT count(), avg(toFloat64(price_jpy)), stddevPop(toFloat64(price_jpy)) FROM reward_market_prices FINAL "
           f"WHERE price_ts {_WINDOW}")


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def window(period: str, since: dt.datetime | None, until: dt.datetime | None,
           now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The inclusive window of a report (module docstring)."""
    if period not in PERIODS:
        raise InvalidRequest(f"`period` is one of {', '.join(PERIODS)}", details={"field": "period"})
    since, until = _utc(since), _utc(until)
    if any(at is not None and not FIRST <= at <= LAST for at in (since, until)):
        raise InvalidRequest("`from` and `to` lie between 2000 and 2200", details={"field": "from"})
    start, end = bounds(period.upper(), since or until or now)
    since, until = since or start, until or end
    if since > until:
        raise InvalidRequest("`from` must not be after `to`", details={"field": "from"})
    return since, until


def _sfr(units: int) -> float:
    return float(sfr_amount(units))


class UserSummary(msgspec.Struct, frozen=True, rename="camel"):
    total_earned: float
    total_distributed: float
    pending: float
    contribution_breakdown: dict[str, float]
    average_holding_factor: float | None
    contribution_count: int
    total_earned_units: int
    total_distributed_units: int
    pending_units: int


class SummaryOut(msgspec.Struct, frozen=True, rename="camel"):
    user_id: str
    period: str
    summary: UserSummary
    from_date: dt.datetime
    to_date: dt.datetime


async def user_summary(ctx: RewardsContext, user_id: str, period: str, since: dt.datetime | None,
                       until: dt.datetime | None) -> SummaryOut:
    start, end = window(period, since, until, ctx.now())
    params = {"u": user_id, "s": ctx.ms(start), "e": ctx.ms(end)}
    earned = distributed = count = 0
    h_sum = Decimal(0)
    by_type: dict[str, int] = {}
    for ctype, status, n, units, h in await ctx.db.rows(_USER_CALCS, params):
        earned += int(units)
        distributed += int(units) if status == "DISTRIBUTED" else 0
        by_type[str(ctype)] = by_type.get(str(ctype), 0) + int(units)
        count += int(n)
        h_sum += Decimal(h)
    records = int((await ctx.db.rows(_USER_RECORDS, params))[0][0])
    average_h = float(floor4(Fraction(h_sum) / count)) if count else None
    summary = UserSummary(_sfr(earned), _sfr(distributed), _sfr(earned - distributed),
                          {k: _sfr(v) for k, v in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))},
                          average_h, records, earned, distributed, earned - distributed)
    return SummaryOut(user_id, period, summary, start, end)


class TypeAmount(msgspec.Struct, frozen=True, rename="camel"):
    type: str
    amount: float
    percentage: float
    amount_units: int


class MarketMetrics(msgspec.Struct, frozen=True, rename="camel"):
    average_price: float | None  # None: no price recorded in the window
    price_volatility: float | None
    average_market_factor: float | None  # None: no calculation in the window
    price_count: int


class SystemStatistics(msgspec.Struct, frozen=True, rename="camel"):
    period: str
    total_calculated: float
    total_distributed: float
    pending_distribution: float
    participating_users: int
    top_contribution_types: list[TypeAmount]
    average_reward_per_user: float
    market_metrics: MarketMetrics
    from_date: dt.datetime
    to_date: dt.datetime
    calculation_count: int
    total_calculated_units: int
    total_distributed_units: int
    average_reward_per_user_units: int


def percentage(part: int, whole: int) -> float:
    """part / whole in percent, rounded half-up to one decimal (exact until the rounding)."""
    if not whole:
        return 0.0
    exact = Fraction(part * 100, whole)
    return float((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP))


async def system_statistics(ctx: RewardsContext, period: str, since: dt.datetime | None,
                            until: dt.datetime | None) -> SystemStatistics:
    start, end = window(period, since, until, ctx.now())
    params = {"s": ctx.ms(start), "e": ctx.ms(end)}
    total = distributed = count = 0
    m_sum = Decimal(0)
    by_type: dict[str, int] = {}
    for ctype, status, n, units, m in await ctx.db.rows(_SYSTEM_CALCS, params):
        total += int(units)
        distributed += int(units) if status == "DISTRIBUTED" else 0
        by_type[str(ctype)] = by_type.get(str(ctype), 0) + int(units)
        count += int(n)
        m_sum += Decimal(m)
    users = int((await ctx.db.rows(_SYSTEM_USERS, params))[0][0])
    n_prices, avg_price, std_price = (await ctx.db.rows(_PRICES, params))[0]
    per_user = distributed // users if users else 0
    top = [TypeAmount(t, _sfr(u), percentage(u, total), u)
           for t, u in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))]
    prices = int(n_prices)
    market = MarketMetrics(round(float(avg_price), 4) if prices else None,
                           round(float(std_price) / float(avg_price), 4) if prices and avg_price else None,
                           float(floor4(Fraction(m_sum) / count)) if count else None, prices)
    return SystemStatistics(period, _sfr(total), _sfr(distributed), _sfr(total - distributed), users, top,
                            _sfr(per_user), market, start, end, count, total, distributed, per_user)


Period = Annotated[str, Parameter(query="period", description="daily | weekly | monthly")]
Since = Annotated[dt.datetime | None, Parameter(query="from")]


class ReportsController(Controller):
    path = "/"
    tags = ["rewards"]

    @get("/summary/{user_id:str}", summary="A user's reward summary for a period (`me`: the caller's)", guards=USER, responses=PROBLEMS)
    async def summary(self, user_id: str, rewards: RewardsContext, caller: Principal, period: Period = "monthly",
                      from_: Since = None, to: dt.datetime | None = None) -> SummaryOut:
        return await user_summary(rewards, await owner(rewards, caller, user_id), period, from_, to)

    @get("/statistics/system", summary="System-wide reward statistics for a period (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def statistics(self, rewards: RewardsContext, period: Period = "monthly", from_: Since = None,
                         to: dt.datetime | None = None) -> SystemStatistics:
        return await system_statistics(rewards, period, from_, to)
