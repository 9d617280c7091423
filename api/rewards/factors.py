"""Reward factors (seed 003 §3): base factors B per contribution type and the target price, as versions with an
effective date; `GET /rewards/factors/current`, `PUT /rewards/factors` (ADMIN; audited; fires the
`factors.updated` webhook). The only writer of `reward_factors`.

What the other rewards modules rely on: `await factors_at(ctx, at)` -> `FactorSet` in force at `at` (the newest
version with effective_from <= at; version 0 = the defaults of schemas.sfr when none), and
`market_of(factors, price)` -> (current price, M) with the documented fallback (no price: the target, M = 1.0).
A PUT merges the given base factors over the version in force at its `effectiveFrom`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, get, put

from api.errors import InvalidRequest
from api.rewards.access import ADMIN, USER
from api.rewards.context import RewardsContext
from api.rewards.market import MarketPrice, current_price, figure
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Principal
from kernels.sfr import market_factor
from schemas.sfr import (
    BASE_FACTOR_MAX,
    DEFAULT_BASE_FACTORS,
    DEFAULT_TARGET_PRICE_JPY,
    MAX_PRICE_JPY,
    ContributionType,
    RewardCode,
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_AT = ("SELECT factor_version, effective_from, base_factors, target_price_jpy, reason, created_at FROM reward_factors "
       "WHERE effective_from <= fromUnixTimestamp64Milli({at:Int64}, 'UTC') "
       "ORDER BY effective_from DESC, factor_version DESC LIMIT 1")
COLUMNS = ("factor_version", "effective_from", "base_factors", "target_price_jpy", "reason", "updated_by",
           "created_at")


@dataclass(frozen=True)
class FactorSet:
    version: int  # 0: the defaults
    effective_from: dt.datetime
    base: dict[ContributionType, Decimal]
    target_price_jpy: Decimal
    created_at: dt.datetime


DEFAULTS = FactorSet(0, EPOCH, dict(DEFAULT_BASE_FACTORS), DEFAULT_TARGET_PRICE_JPY, EPOCH)


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


async def factors_at(ctx: RewardsContext, at: dt.datetime) -> FactorSet:
    rows = await ctx.db.rows(_AT, {"at": ctx.ms(at)})
    if not rows:
        return DEFAULTS
    version, effective, base, target, _, created = rows[0]
    stored = {ContributionType(k): Decimal(v) for k, v in dict(base).items() if k in ContributionType.__members__.values()}
    return FactorSet(int(version), _utc(effective), {**DEFAULT_BASE_FACTORS, **stored}, Decimal(target), _utc(created))


def market_of(factors: FactorSet, price: MarketPrice | None) -> tuple[Decimal, Decimal]:
    """(the current price used, M). Without a recorded price the target stands in: M = 1.0."""
    current = price.price_jpy if price is not None else factors.target_price_jpy
    return current, market_factor(current, factors.target_price_jpy)


class MarketFactorOut(msgspec.Struct, frozen=True, rename="camel"):
    current_price: float | None  # None: no market price recorded yet (M = 1.0)
    target_price: float
    factor: float
    price_timestamp: dt.datetime | None = None


class FactorsOut(msgspec.Struct, frozen=True, rename="camel"):
    base_factors: dict[str, float]
    market_factor: MarketFactorOut
    effective_from: dt.datetime
    last_updated: dt.datetime
    factor_version: int


class FactorsIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    base_factors: dict[str, Decimal] | None = None
    target_price: Decimal | None = None
    effective_from: dt.datetime | None = None
    reason: str = ""


class FactorsUpdated(msgspec.Struct, frozen=True, rename="camel"):
    factor_version: int
    base_factors: dict[str, float]
    target_price: float
    effective_from: dt.datetime
    changes: dict[str, dict[str, float]]
    reason: str


async def current_factors(ctx: RewardsContext) -> FactorsOut:
    now = ctx.now()
    factors = await factors_at(ctx, now)
    price = await current_price(ctx, now)
    _, m = market_of(factors, price)
    updated = max(factors.created_at, price.recorded_at) if price is not None else factors.created_at
    market = MarketFactorOut(float(price.price_jpy) if price else None, float(factors.target_price_jpy), float(m),
                             price.price_ts if price else None)
    return FactorsOut({str(k): float(v) for k, v in factors.base.items()}, market, factors.effective_from, updated,
                      factors.version)


def _new_base(given: dict[str, Decimal]) -> dict[ContributionType, Decimal]:
    out = {}
    for name, value in given.items():
        if name not in ContributionType.__members__.values():
            raise RewardError(RewardCode.INVALID_CONTRIBUTION_TYPE, f"unknown contribution type {name!r} in baseFactors",
                              field="baseFactors")
        out[ContributionType(name)] = figure(value, f"baseFactors.{name}", limit=BASE_FACTOR_MAX)
    return out


async def update_factors(ctx: RewardsContext, caller: Principal, ip: str, data: FactorsIn) -> FactorsUpdated:
    if not data.base_factors and data.target_price is None:
        raise InvalidRequest("send `baseFactors` and/or `targetPrice`")
    if len(data.reason) > 500:
        raise InvalidRequest("`reason` is at most 500 characters", details={"field": "reason"})
    base = _new_base(data.base_factors or {})
    target = figure(data.target_price, "targetPrice", positive=True, limit=MAX_PRICE_JPY) \
        if data.target_price is not None else None
    now = ctx.now()
    effective = _utc(data.effective_from) if data.effective_from else now
    if not EPOCH < effective < dt.datetime(2200, 1, 1, tzinfo=dt.UTC):
        raise InvalidRequest("`effectiveFrom` must lie between 1970 and 2200", details={"field": "effectiveFrom"})
    async with ctx.lock:
        before = await factors_at(ctx, effective)
        merged = {**before.base, **base}
        new_target = target if target is not None else before.target_price_jpy
        version = await ctx.next_id("reward_factors")
        await ctx.insert("reward_factors", [[version, effective, {str(k): v for k, v in merged.items()}, new_target,
                                             data.reason, caller.subject, now]], COLUMNS)
    changes = {f"baseFactor.{k}": {"from": float(before.base[k]), "to": float(v)}
               for k, v in base.items() if before.base[k] != v}
    if new_target != before.target_price_jpy:
        changes["targetPrice"] = {"from": float(before.target_price_jpy), "to": float(new_target)}
    out = FactorsUpdated(version, {str(k): float(v) for k, v in merged.items()}, float(new_target), effective, changes,
                         data.reason)
    event: dict[str, Any] = {"event": "factors.updated", "changes": changes,
                             "effectiveFrom": effective, "factorVersion": version}
    await ctx.audit.record(caller, ip, "factors.update", "factors", str(version),
                           before={"factorVersion": before.version, "baseFactors": {str(k): v for k, v in before.base.items()},
                                   "targetPrice": before.target_price_jpy},
                           after=msgspec.to_builtins(out), event="factors.updated", event_body=event)
    return out


class FactorsController(Controller):
    path = "/factors"
    tags = ["rewards"]

    @get("/current", summary="The reward factors in force now", guards=USER, responses=PROBLEMS)
    async def current(self, rewards: RewardsContext) -> FactorsOut:
        return await current_factors(rewards)

    @put("/", summary="Update base factors and/or the target price from an effective date (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def update(self, data: FactorsIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> FactorsUpdated:
        return await update_factors(rewards, caller, request.client.host if request.client else "", data)
