"""SFR market price in JPY (seed 003 §7.2): `POST /rewards/market-price` (SYSTEM) stores one price; the
current price at t is the newest `price_ts` <= t. The only writer of `reward_market_prices`.

What the other rewards modules rely on: `await current_price(ctx, at)` -> `MarketPrice | None` (None: no
price recorded yet; the calculation then uses the target price, M = 1.0, and says so). A failing read is
REWARD_007 (500). `record_price(...)` stores a price (the daily batch uses it too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, post

from api.errors import InvalidRequest
from api.rewards.access import SYSTEM
from api.rewards.context import RewardsContext
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Principal
from schemas.sfr import FACTOR_QUANTUM, MAX_FIGURE, MAX_PRICE_JPY, RewardCode

_CURRENT = ("SELECT price_jpy, price_source, price_ts, recorded_at FROM reward_market_prices FINAL "
            "WHERE price_ts <= fromUnixTimestamp64Milli({at:Int64}, 'UTC') ORDER BY price_ts DESC, recorded_at DESC LIMIT 1")
COLUMNS = ("price_id", "price_jpy", "price_source", "volume_24h", "market_cap", "price_ts", "recorded_by",
           "recorded_at")


@dataclass(frozen=True)
class MarketPrice:
    price_jpy: Decimal
    source: str
    price_ts: dt.datetime
    recorded_at: dt.datetime


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


async def current_price(ctx: RewardsContext, at: dt.datetime) -> MarketPrice | None:
    try:
        rows = await ctx.db.rows(_CURRENT, {"at": ctx.ms(at)})
    except Exception as exc:  # the seed's REWARD_007: the price could not be read
        raise RewardError(RewardCode.MARKET_PRICE_UNAVAILABLE, f"the market price could not be read: {exc}") from exc
    if not rows:
        return None
    price, source, ts, recorded = rows[0]
    return MarketPrice(Decimal(price), str(source), _utc(ts), _utc(recorded))


def figure(value: Decimal | None, name: str, *, positive: bool = False, limit: Decimal = MAX_FIGURE) -> Decimal:
    """A validated decimal field: finite, at most 4 places, 0 (or > 0) .. `limit`; else INVALID_REQUEST."""
    if value is None:
        return Decimal(0)
    if not value.is_finite() or value != value.quantize(FACTOR_QUANTUM) or value < 0 or value > limit \
            or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidRequest(f"`{name}` must be a number {bound} and <= {limit} with at most 4 decimal places",
                             details={"field": name})
    return value


class MarketPriceIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    price_jpy: Decimal
    price_source: str = "api"
    volume_24h: Decimal | None = msgspec.field(name="volume24h", default=None)
    market_cap: Decimal | None = None
    price_timestamp: dt.datetime | None = None


class MarketPriceOut(msgspec.Struct, frozen=True, rename="camel"):
    price_id: int
    price_jpy: float
    price_source: str
    volume_24h: float = msgspec.field(name="volume24h")
    market_cap: float
    price_timestamp: dt.datetime
    recorded_at: dt.datetime


async def record_price(ctx: RewardsContext, caller: Principal, ip: str, data: MarketPriceIn) -> MarketPriceOut:
    price = figure(data.price_jpy, "priceJpy", positive=True, limit=MAX_PRICE_JPY)
    volume, cap = figure(data.volume_24h, "volume24h"), figure(data.market_cap, "marketCap")
    source = data.price_source.strip()
    if not 1 <= len(source) <= 64:
        raise InvalidRequest("`priceSource` must be 1 to 64 characters", details={"field": "priceSource"})
    now = ctx.now()
    ts = _utc(data.price_timestamp) if data.price_timestamp else now
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= ts <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC):
        raise InvalidRequest("`priceTimestamp` must lie between 2000 and 2200", details={"field": "priceTimestamp"})
    async with ctx.lock:
        price_id = await ctx.next_id("reward_market_prices")
        await ctx.insert("reward_market_prices", [[price_id, price, source, volume, cap, ts, caller.subject, now]],
                         COLUMNS)
    out = MarketPriceOut(price_id, float(price), source, float(volume), float(cap), ts, now)
    after: dict[str, Any] = msgspec.to_builtins(out)
    await ctx.audit.record(caller, ip, "market_price.record", "market_price", str(price_id), after=after)
    return out


class MarketPriceController(Controller):
    path = "/market-price"
    tags = ["rewards"]

    @post("/", summary="Record the SFR market price in JPY (SYSTEM)", guards=SYSTEM, responses=PROBLEMS)
    async def record(self, data: MarketPriceIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> MarketPriceOut:
        return await record_price(rewards, caller, request.client.host if request.client else "", data)
