"""The monthly batch of the rewards (seed 003 "月次バッチ処理"): once per calendar month, for the month that just
closed, from the scheduler (jobs/sfr_batches.py) or `POST /rewards/batch/monthly` (SYSTEM); recorded and made
idempotent by api/rewards/batch_runs.py (run key `monthly:YYYY-MM` of the closed month). Each step is harmless
when repeated:

1. `statistics` — a snapshot of the closed month kept in the run's result: calculations by status and
   contribution type (exact units and SFR), participating users, contributions recorded, market prices.
2. `archive` — the month's settled calculations (DISTRIBUTED or REJECTED: final, they never change again) are
   copied into `reward_calculations_archive` (partitioned by month, so a month can be exported or frozen as a
   unit). Nothing is deleted: not from `reward_calculations`, and never from the money ledger.
3. `limits` — every active limit whose period ended is retired (api/rewards/limits.py `retire_expired`); a
   retired MONTHLY or YEARLY limit rolls over into the period of its type containing the run (same category
   and maximum) unless a limit of that type and category already covers it. DAILY and WEEKLY limits are only
   retired (a monthly run cannot keep them going day by day: set them with `POST /rewards/limits`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from api.rewards import limits
from api.rewards.batch_runs import BatchRun, Step, run_once
from api.rewards.calculations import COLUMNS as CALCULATION_COLUMNS
from api.rewards.context import RewardsContext
from api.security import Principal
from kernels.sfr import show_sfr
from kernels.sfr_batch import monthly_run, previous_month
from schemas.sfr import CalculationStatus, sfr_amount

ROLLING_KINDS = ("MONTHLY", "YEARLY")
_RANGE = ("{col} >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC') "
          "AND {col} < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC')")
_CALCULATIONS = ("SELECT status, contribution_type, count(), sum(final_units) FROM reward_calculations FINAL "
                 f"WHERE {_RANGE.format(col='calculated_at')} GROUP BY status, contribution_type")
_USERS = ("SELECT uniqExact(user_id) FROM reward_calculations FINAL "
          f"WHERE {_RANGE.format(col='calculated_at')} AND status != 'REJECTED'")
_CONTRIBUTIONS = ("SELECT contribution_type, count() FROM reward_contributions FINAL "
                  f"WHERE {_RANGE.format(col='activity_date')} GROUP BY contribution_type")
_PRICES = ("SELECT count(), sum(price_jpy), min(price_jpy), max(price_jpy) FROM reward_market_prices FINAL "
           f"WHERE {_RANGE.format(col='price_ts')}")
_SETTLED = f"WHERE {_RANGE.format(col='calculated_at')} AND status IN ('DISTRIBUTED', 'REJECTED')"
_ARCHIVE = (f"INSERT INTO reward_calculations_archive ({', '.join(CALCULATION_COLUMNS)}) "
            f"SELECT {', '.join(CALCULATION_COLUMNS)} FROM reward_calculations FINAL {_SETTLED}")
_COUNT_SETTLED = f"SELECT count() FROM reward_calculations FINAL {_SETTLED}"


def _sfr(units: int) -> dict[str, Any]:
    return {"amount": float(sfr_amount(units)), "amountUnits": units, "amountStr": show_sfr(units)}


async def statistics(ctx: RewardsContext, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    span = {"start": ctx.ms(start), "end": ctx.ms(end)}
    by_status: dict[str, int] = defaultdict(int)
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "units": 0})
    count = 0
    for status, ctype, n, units in await ctx.db.rows(_CALCULATIONS, span):
        by_status[str(status)] += int(units)
        count += int(n)
        if status != CalculationStatus.REJECTED:
            by_type[str(ctype)]["count"] += int(n)
            by_type[str(ctype)]["units"] += int(units)
    pending = by_status[CalculationStatus.CALCULATED] + by_status[CalculationStatus.APPROVED]
    users = int((await ctx.db.rows(_USERS, span))[0][0])
    contributions = {str(t): int(n) for t, n in await ctx.db.rows(_CONTRIBUTIONS, span)}
    n_prices, total, low, high = (await ctx.db.rows(_PRICES, span))[0]
    prices: dict[str, Any] = {"count": int(n_prices)}
    if int(n_prices):
        prices |= {"averagePrice": float(Decimal(total) / int(n_prices)), "minPrice": float(low), "maxPrice": float(high)}
    calculated = pending + by_status[CalculationStatus.DISTRIBUTED]
    return {"month": f"{start:%Y-%m}", "calculations": count,
            "totalCalculated": _sfr(calculated), "totalDistributed": _sfr(by_status[CalculationStatus.DISTRIBUTED]),
            "pendingDistribution": _sfr(pending), "rejected": _sfr(by_status[CalculationStatus.REJECTED]),
            "participatingUsers": users,
            "byContributionType": {t: {"count": v["count"], **_sfr(v["units"])} for t, v in sorted(by_type.items())},
            "contributionsRecorded": contributions, "marketPrices": prices}


async def archive(ctx: RewardsContext, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    span = {"start": ctx.ms(start), "end": ctx.ms(end)}
    await ctx.db.command(_ARCHIVE, span)  # a repeat writes identical versions, which collapse
    settled = int((await ctx.db.rows(_COUNT_SETTLED, span))[0][0])
    return {"month": f"{start:%Y-%m}", "archivedCalculations": settled, "table": "reward_calculations_archive",
            "deleted": 0}


async def reset_limits(ctx: RewardsContext, caller: Principal, ip: str) -> dict[str, Any]:
    now = ctx.now()
    before = {lim.limit_id: lim for lim in await limits.active_limits(ctx)}
    retired = await limits.retire_expired(ctx, caller, ip, now)
    still = await limits.active_limits(ctx)
    rolled: list[dict[str, Any]] = []
    for limit_id in retired:
        old = before[limit_id]
        if old.limit_type not in ROLLING_KINDS or any(
                lim.limit_type == old.limit_type and lim.category == old.category and lim.period_start <= now <= lim.period_end
                for lim in still):
            continue
        new = await limits.create_limit(ctx, caller, ip, limits.LimitIn(
            limit_type=old.limit_type, max_amount=sfr_amount(old.max_units), category=old.category or None))
        still.append(limits.Limit(new.limit_id, new.limit_type, old.category, old.max_units, new.period_start,
                                  new.period_end, True, caller.subject, now, now))
        rolled.append({"from": limit_id, "to": new.limit_id, "limitType": new.limit_type, "category": new.category})
    return {"retired": retired, "rolledOver": rolled}


async def run_monthly(ctx: RewardsContext, caller: Principal, ip: str) -> tuple[BatchRun, bool]:
    """The monthly run of the month before now's: run it, or answer the run that already succeeded."""
    now = ctx.now()
    run_key, batch_id = monthly_run(now)
    start, end = previous_month(now)
    steps: list[Step] = [("statistics", lambda: statistics(ctx, start, end)),
                         ("archive", lambda: archive(ctx, start, end)),
                         ("limits", lambda: reset_limits(ctx, caller, ip))]
    return await run_once(ctx, caller, ip, "monthly", run_key, batch_id, steps,
                          period={"month": f"{start:%Y-%m}", "from": start.isoformat(), "to": end.isoformat()})
