"""Reward calculation (seed 003 §2): `POST /rewards/calculate` (one contribution record) and
`POST /rewards/calculate/batch` (several, one batch id; each record gets exactly what a single calculation
at the same time would give). reward = B × C × M × H (kernels.sfr), exact, floored to 10^-8 SFR. Writes
`reward_calculations` (figures; status moves are approval's) and the calculation rows of `reward_batches`.

Rules: REWARD_001 for an unknown record; a user calculates only their own records (REWARD_004 otherwise); a
record whose calculation is CALCULATED is REWARD_006 (409) unless `forceRecalculate`, which replaces that
calculation's figures (same calculationId, new version); an APPROVED or DISTRIBUTED one is never recalculated
(REWARD_006); after a REJECTED one a new calculation (new id) is made. B and the target price are the factor
version in force at the calculation time, the market price the newest at or before it (none recorded: the
target, M = 1.0), H the user's holding factor then (api/rewards/holdings.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, post

from api.errors import ApiError, Forbidden, InvalidRequest
from api.rewards import calculations as store
from api.rewards.access import USER
from api.rewards.calculations import Calculation
from api.rewards.context import RewardsContext
from api.rewards.contributions import contribution
from api.rewards.factors import factors_at, market_of
from api.rewards.holdings import holding_factor_for
from api.rewards.market import current_price
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Principal
from kernels.sfr import formula, reward_units
from schemas.sfr import CalculationStatus, RewardCode, sfr_amount

MAX_BATCH = 1000
BATCH_COLUMNS = ("id", "batch_id", "kind", "run_key", "requested_by", "started_at", "finished_at", "state", "result",
                 "updated_at")


class CalculateIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    contribution_record_id: int
    force_recalculate: bool = False


class FactorsOut(msgspec.Struct, frozen=True, rename="camel"):
    base_factor: float
    contribution_score: float
    market_factor: float
    holding_factor: float


class CalculationOut(msgspec.Struct, frozen=True, rename="camel"):
    calculation_id: int
    user_id: str
    contribution_record_id: int
    contribution_type: str
    factors: FactorsOut
    calculated_amount: float
    final_amount: float
    final_amount_units: int  # exact: units of 10^-8 SFR
    calculation_formula: str
    market_price_jpy: float
    target_price_jpy: float
    factor_version: int
    status: str
    calculated_at: dt.datetime


def calculation_out(c: Calculation) -> CalculationOut:
    return CalculationOut(
        c.calculation_id, c.user_id, c.contribution_id, str(c.contribution_type),
        FactorsOut(float(c.base_factor), float(c.contribution_score), float(c.market_factor), float(c.holding_factor)),
        float(sfr_amount(c.calculated_units)), float(sfr_amount(c.final_units)), c.final_units, c.formula,
        float(c.market_price_jpy), float(c.target_price_jpy), c.factor_version, str(c.status), c.calculated_at)


async def calculate(ctx: RewardsContext, caller: Principal, ip: str, record_id: int, force: bool, *,
                    at: dt.datetime | None = None, batch_id: str = "") -> Calculation:
    """Calculate (or, forced, recalculate) one contribution record at `at` (default now)."""
    found = await contribution(ctx, record_id) if 1 <= record_id < 2**63 else None
    if found is None:
        raise RewardError(RewardCode.CONTRIBUTION_NOT_FOUND, f"contribution record {record_id} not found",
                          contributionRecordId=record_id)
    await ctx.callers.ensure_own(caller, found.user_id)
    when = at or ctx.now()
    factors = await factors_at(ctx, when)
    price, m = market_of(factors, await current_price(ctx, when))
    b, c = factors.base[found.contribution_type], found.score
    h = await holding_factor_for(ctx, found.user_id, when)
    try:
        units = reward_units(b, c, m, h)
    except ValueError as exc:
        raise RewardError(RewardCode.CALCULATION_FAILED, f"the reward could not be calculated: {exc}") from exc
    now = ctx.now()
    async with ctx.lock:
        previous = await store.active_for(ctx, record_id)
        if previous is not None and previous.status is not CalculationStatus.REJECTED:
            if previous.status is not CalculationStatus.CALCULATED or not force:
                hint = "" if previous.status is not CalculationStatus.CALCULATED else "; send forceRecalculate: true"
                raise RewardError(RewardCode.ALREADY_CALCULATED,
                                  f"contribution record {record_id} is already calculated "
                                  f"(calculation {previous.calculation_id}, {previous.status}){hint}",
                                  calculationId=previous.calculation_id, status=str(previous.status))
            calc_id = previous.calculation_id
            version = ctx.version_after(previous.updated_at)
        else:
            calc_id = await ctx.next_id("reward_calculations")
            version = now
        calc = Calculation(calc_id, record_id, found.user_id, found.contribution_type, b, c, m, h, units, units,
                           formula(b, c, m, h, units), price, factors.target_price_jpy, factors.version, batch_id,
                           CalculationStatus.CALCULATED, when, caller.subject, None, "", "", 0, version)
        await store.save(ctx, [calc])
    replaced = previous if previous is not None and previous.calculation_id == calc_id else None
    await ctx.audit.record(caller, ip, "calculation.recalculate" if replaced else "calculation.calculate",
                           "calculation", str(calc_id),
                           before=msgspec.to_builtins(calculation_out(replaced)) if replaced else None,
                           after=msgspec.to_builtins(calculation_out(calc)))
    return calc


class BatchIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    contribution_record_ids: list[int]
    calculation_date: dt.datetime | None = None
    force_recalculate: bool = False


class BatchResult(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    contribution_record_id: int
    status: str  # CALCULATED, or FAILED
    calculation_id: int | None = None
    final_amount: float | None = None
    error_code: str | None = None
    message: str | None = None


class BatchOut(msgspec.Struct, frozen=True, rename="camel"):
    batch_id: str
    processed_count: int
    success_count: int
    failure_count: int
    total_calculated_amount: float
    total_calculated_amount_units: int
    results: list[BatchResult]


async def calculate_batch(ctx: RewardsContext, caller: Principal, ip: str, data: BatchIn) -> BatchOut:
    ids = data.contribution_record_ids
    if not 1 <= len(ids) <= MAX_BATCH or len(set(ids)) != len(ids):
        raise InvalidRequest(f"send 1 to {MAX_BATCH} distinct contributionRecordIds", details={"count": len(ids)})
    now = ctx.now()
    when = data.calculation_date or now
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    if when > now or when.year < 2000:
        raise InvalidRequest("`calculationDate` must lie between 2000 and now", details={"field": "calculationDate"})
    async with ctx.lock:
        row_id = await ctx.next_id("reward_batches")
        batch_id = f"batch_{row_id:03d}"
        await ctx.insert("reward_batches", [[row_id, batch_id, "calculation", "", caller.subject, now, None, "running",
                                             "", now]], BATCH_COLUMNS)
    results: list[BatchResult] = []
    total = 0
    for record_id in ids:
        try:
            calc = await calculate(ctx, caller, ip, record_id, data.force_recalculate, at=when, batch_id=batch_id)
        except RewardError as exc:
            results.append(BatchResult(record_id, "FAILED", error_code=str(exc.code), message=exc.detail))
            continue
        except Forbidden as exc:
            results.append(BatchResult(record_id, "FAILED", error_code=str(RewardCode.NOT_PERMITTED), message=exc.message))
            continue
        except ApiError as exc:
            results.append(BatchResult(record_id, "FAILED", error_code=str(exc.code), message=exc.message))
            continue
        total += calc.final_units
        results.append(BatchResult(record_id, str(calc.status), calc.calculation_id, float(sfr_amount(calc.final_units))))
    ok = sum(1 for r in results if r.error_code is None)
    out = BatchOut(batch_id, len(results), ok, len(results) - ok, float(sfr_amount(total)), total, results)
    summary = {k: v for k, v in msgspec.to_builtins(out).items() if k != "results"}
    done = ctx.now()
    await ctx.insert("reward_batches", [[row_id, batch_id, "calculation", "", caller.subject, now, done, "succeeded",
                                         msgspec.json.encode(summary).decode(), ctx.version_after(now)]], BATCH_COLUMNS)
    await ctx.audit.record(caller, ip, "calculation.batch", "batch", batch_id, after=summary)
    return out


class CalculationController(Controller):
    path = "/calculate"
    tags = ["rewards"]

    @post("/", status_code=200, summary="Calculate the reward of one contribution record", guards=USER, responses=PROBLEMS)
    async def one(self, data: CalculateIn, rewards: RewardsContext, caller: Principal,
                  request: Request[Any, Any, Any]) -> CalculationOut:
        ip = request.client.host if request.client else ""
        return calculation_out(await calculate(rewards, caller, ip, data.contribution_record_id, data.force_recalculate))

    @post("/batch", status_code=200, summary="Calculate the rewards of several contribution records", guards=USER, responses=PROBLEMS)
    async def batch(self, data: BatchIn, rewards: RewardsContext, caller: Principal,
                    request: Request[Any, Any, Any]) -> BatchOut:
        return await calculate_batch(rewards, caller, request.client.host if request.client else "", data)
