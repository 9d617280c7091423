"""The daily batch of the rewards (seed 003 "日次バッチ処理"): once per UTC day, from the scheduler
(jobs/sfr_batches.py) or `POST /rewards/batch/daily` (SYSTEM); recorded and made idempotent by
api/rewards/batch_runs.py (run key `daily:YYYY-MM-DD`). Three steps, each harmless when repeated:

1. `marketPrice` — with `SFR_MARKET_PRICE_URL` set, GET it and record the price it answers (a JSON object in
   the shape of `POST /rewards/market-price`'s body: `priceJpy` required; `volume24h`, `marketCap`,
   `priceTimestamp`, `priceSource` optional; unknown members ignored) through api/rewards/market.py; a failure
   is REWARD_007 and the last recorded price stays in force. Without a URL the last price is kept, and the
   step says which one.
2. `holdingIncentives` — a holding snapshot for every user with SFR in the ledger (or a calculation), as of
   the run (api/rewards/holdings.py `snapshot_all`); the calculations read H from these snapshots.
3. `factorAdjustment` — none by default (M already follows the market price at every calculation). With
   `SFR_TARGET_ADJUST_BPS` > 0, the target price moves toward the mean market price of the last 30 days by at
   most that many basis points of itself (kernels.sfr_batch.adjusted_target), as a new factor version
   effective at once (audited, `factors.updated` webhook); at most one such version per day (its reason
   names the run).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from api.rewards import holdings
from api.rewards.batch_runs import BatchRun, Step, run_once
from api.rewards.context import RewardsContext
from api.rewards.factors import FactorsIn, factors_at, update_factors
from api.rewards.market import MarketPriceIn, current_price, record_price
from api.rewards.problems import RewardError
from api.security import Principal
from kernels.sfr_batch import adjusted_target, daily_run
from schemas.config import first_line
from schemas.sfr import FACTOR_QUANTUM, RewardCode

MEAN_WINDOW = dt.timedelta(days=30)
MAX_BODY_BYTES = 65_536
_MEAN = ("SELECT sum(price_jpy), count() FROM reward_market_prices FINAL "
         "WHERE price_ts > fromUnixTimestamp64Milli({since:Int64}, 'UTC') "
         "AND price_ts <= fromUnixTimestamp64Milli({at:Int64}, 'UTC')")
_ADJUSTED = "SELECT count() FROM reward_factors WHERE startsWith(reason, {r:String})"


class SourcePrice(msgspec.Struct, frozen=True, rename="camel"):
    """What the price source answers (unknown members ignored)."""

    price_jpy: Decimal
    price_source: str | None = None
    volume_24h: Decimal | None = msgspec.field(name="volume24h", default=None)
    market_cap: Decimal | None = None
    price_timestamp: dt.datetime | None = None


async def fetch_price(url: str, timeout_s: float) -> SourcePrice:
    """GET the price source; any failure is REWARD_007."""
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_BODY_BYTES:
            raise ValueError(f"the answer is larger than {MAX_BODY_BYTES} bytes")
        return msgspec.json.decode(response.content, type=SourcePrice)
    except (httpx.HTTPError, msgspec.DecodeError, ValueError) as exc:
        raise RewardError(RewardCode.MARKET_PRICE_UNAVAILABLE,
                          f"the market price could not be fetched from {urlsplit(url).netloc}: {first_line(exc)}; "
                          "the last recorded price stays in force") from None


async def refresh_price(ctx: RewardsContext, caller: Principal, ip: str) -> dict[str, Any]:
    now = ctx.now()
    url = ctx.settings.market_price_url
    if not url:
        last = await current_price(ctx, now)
        return {"source": "none", "note": "SFR_MARKET_PRICE_URL is not set: the last recorded price stays in force",
                "keptPriceJpy": float(last.price_jpy) if last else None,
                "keptPriceTimestamp": last.price_ts.isoformat() if last else None}
    got = await fetch_price(url, ctx.settings.market_price_timeout_s)
    source = (got.price_source or urlsplit(url).netloc)[:64] or "price_url"
    recorded = await record_price(ctx, caller, ip, MarketPriceIn(
        got.price_jpy, source, got.volume_24h, got.market_cap, got.price_timestamp or now))
    return {"source": source, "priceId": recorded.price_id, "priceJpy": recorded.price_jpy,
            "priceTimestamp": recorded.price_timestamp.isoformat()}


async def adjust_factors(ctx: RewardsContext, caller: Principal, ip: str, batch_id: str) -> dict[str, Any]:
    bps = ctx.settings.target_adjust_bps
    if bps == 0:
        return {"rule": "none", "note": "SFR_TARGET_ADJUST_BPS is 0: the market factor follows the price at each "
                                        "calculation, the target price stays"}
    now = ctx.now()
    mark = f"{batch_id}:"
    if int((await ctx.db.rows(_ADJUSTED, {"r": mark}))[0][0]):
        return {"rule": "toward30DayMean", "maxBps": bps, "note": "already adjusted today"}
    total, count = (await ctx.db.rows(_MEAN, {"since": ctx.ms(now - MEAN_WINDOW), "at": ctx.ms(now)}))[0]
    mean = (Decimal(total) / int(count)).quantize(FACTOR_QUANTUM, rounding=ROUND_HALF_UP) if int(count) else None
    target = (await factors_at(ctx, now)).target_price_jpy
    new = adjusted_target(target, mean, bps)
    out: dict[str, Any] = {"rule": "toward30DayMean", "maxBps": bps, "meanPriceJpy": float(mean) if mean else None,
                           "fromTargetPrice": float(target), "toTargetPrice": float(new)}
    if new != target:
        updated = await update_factors(ctx, caller, ip, FactorsIn(
            target_price=new, effective_from=now,
            reason=f"{mark} target price moved toward the 30-day mean price (at most {bps} bps a day)"))
        out["factorVersion"] = updated.factor_version
    return out


async def run_daily(ctx: RewardsContext, caller: Principal, ip: str) -> tuple[BatchRun, bool]:
    """The daily run of today (UTC): run it, or answer the run that already succeeded."""
    now = ctx.now()
    run_key, batch_id = daily_run(now)

    async def snapshots() -> dict[str, Any]:
        return {"users": await holdings.snapshot_all(ctx, ctx.now())}

    steps: list[Step] = [("marketPrice", lambda: refresh_price(ctx, caller, ip)),
                         ("holdingIncentives", snapshots),
                         ("factorAdjustment", lambda: adjust_factors(ctx, caller, ip, batch_id))]
    return await run_once(ctx, caller, ip, "daily", run_key, batch_id, steps,
                          period={"date": now.date().isoformat()})
