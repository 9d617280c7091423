"""Approval and rejection of calculations (seed 003 §5.1, ADMIN): `POST /rewards/approve` moves CALCULATED
calculations to APPROVED, each with a new distribution (state APPROVED, waiting to be distributed);
`POST /rewards/reject` moves CALCULATED or APPROVED ones (and their distributions) to REJECTED. Writes the
status versions of `reward_calculations` and the APPROVED/REJECTED versions of `reward_distributions`.

Rules, per request (all-or-nothing: either every id is acceptable and the whole request is done, or nothing is):
- an unknown calculationId: 404 NOT_FOUND (`details.missing`);
- an illegal move (approving a REJECTED calculation, rejecting a DISTRIBUTED one): 409 REWARD_006 (the seed's
  conflict code: the calculation is past that point), `details` name the calculation, its status and the move;
- approving past a distribution limit: 400 REWARD_003 (api/rewards/limits.py);
- re-submitting changes nothing: an already APPROVED (or DISTRIBUTED) calculation keeps its distribution and is
  answered with the same distributionId; an already REJECTED one stays rejected. A caller without ADMIN: 403
  REWARD_004 (the guard).
Each move is audited (`calculation.approve`, `calculation.reject`) with the status before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Controller, Request, post

from api.errors import InvalidRequest, NotFound
from api.rewards import calculations, distributions
from api.rewards.access import ADMIN
from api.rewards.calculations import Calculation
from api.rewards.context import RewardsContext
from api.rewards.distributions import Distribution
from api.rewards.limits import Planned, enforce
from api.rewards.problems import PROBLEMS, RewardError
from api.security import Principal
from schemas.sfr import CalculationStatus, RewardCode, can_move, sfr_amount

MAX_IDS = 1000
MAX_COMMENT = 500
_NEXT_DISTRIBUTION = ("SELECT greatest((SELECT max(distribution_id) FROM reward_distributions), "
                      "(SELECT max(distribution_id) FROM reward_calculations)) + 1")


def check_ids(ids: Sequence[int], field: str) -> list[int]:
    if not 1 <= len(ids) <= MAX_IDS or len(set(ids)) != len(ids) or any(not 1 <= i < 2**63 for i in ids):
        raise InvalidRequest(f"send 1 to {MAX_IDS} distinct positive `{field}`", details={"field": field})
    return list(ids)


def missing(kind: str, field: str, wanted: Sequence[int], found: dict[int, Any]) -> None:
    absent = [i for i in wanted if i not in found]
    if absent:
        raise NotFound(f"unknown {kind} {', '.join(map(str, absent[:20]))}: nothing was done",
                       details={"field": field, "missing": absent})


def illegal(kind: str, item_id: int, status: str, move: str) -> RewardError:
    return RewardError(RewardCode.ALREADY_CALCULATED, f"{kind} {item_id} is {status}: it cannot be {move}; "
                       "nothing of the request was done", **{f"{kind}Id": item_id, "status": status, "move": move})


class ApproveIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    calculation_ids: list[int]
    approval_comment: str = ""


class ApproveOut(msgspec.Struct, frozen=True, rename="camel"):
    approved_count: int
    total_approved_amount: float
    distribution_ids: list[int]
    approved_at: dt.datetime
    approved_by: str
    total_approved_amount_units: int  # exact: units of 10^-8 SFR
    newly_approved_count: int  # 0 for a re-submission


async def _next_distribution_id(ctx: RewardsContext) -> int:
    """Past every id a calculation or a distribution row names (a calculation is written first: see approve)."""
    rows = await ctx.db.rows(_NEXT_DISTRIBUTION, {})
    return max(1, int(rows[0][0])) if rows else 1


def _distribution_of(calc: Calculation, at: dt.datetime, by: str, comment: str) -> Distribution:
    return Distribution(calc.distribution_id, calc.calculation_id, calc.user_id, str(calc.contribution_type),
                        calc.final_units, distributions.APPROVED, by, at, comment, None, None, "", "", at)


async def approve_calculations(ctx: RewardsContext, caller: Principal, ip: str, data: ApproveIn) -> ApproveOut:
    ids = check_ids(data.calculation_ids, "calculationIds")
    if len(data.approval_comment) > MAX_COMMENT:
        raise InvalidRequest(f"`approvalComment` is at most {MAX_COMMENT} characters", details={"field": "approvalComment"})
    approver = await ctx.callers.user_id(caller)
    now = ctx.now()
    async with ctx.lock:
        calcs = await calculations.calculations_by_id(ctx, ids)
        missing("calculation", "calculationIds", ids, calcs)
        for c in calcs.values():
            if c.status is CalculationStatus.REJECTED or (c.status is not CalculationStatus.CALCULATED
                                                          and not c.distribution_id):
                raise illegal("calculation", c.calculation_id, c.status, "approved")
        fresh = [calcs[i] for i in ids if calcs[i].status is CalculationStatus.CALCULATED]
        assert all(can_move(c.status, CalculationStatus.APPROVED) for c in fresh)
        await enforce(ctx, [Planned(str(c.contribution_type), c.final_units, now) for c in fresh])
        first = await _next_distribution_id(ctx)
        moved = [calculations.moved(ctx, c, status=CalculationStatus.APPROVED, approved_at=now, approved_by=approver,
                                    comment=data.approval_comment, distribution_id=first + n)
                 for n, c in enumerate(fresh)]
        # the calculation first: a crash before the distribution row leaves an APPROVED calculation naming its
        # distribution, which the next submission of the same approval writes (below) instead of a second one
        await calculations.save(ctx, moved)
        for c in moved:
            calcs[c.calculation_id] = c
        known = await distributions.by_id(ctx, [calcs[i].distribution_id for i in ids])
        lacking = [_distribution_of(calcs[i], calcs[i].approved_at or now, calcs[i].approved_by, calcs[i].comment)
                   for i in ids if calcs[i].status is CalculationStatus.APPROVED
                   and calcs[i].distribution_id not in known]
        await distributions.save(ctx, lacking)
        for c in moved:
            await ctx.audit.record(caller, ip, "calculation.approve", "calculation", str(c.calculation_id),
                                   before={"status": "CALCULATED"},
                                   after={"status": "APPROVED", "distributionId": c.distribution_id,
                                          "amountUnits": c.final_units, "approvalComment": data.approval_comment})
    chosen = [calcs[i] for i in ids]
    total = sum(c.final_units for c in chosen)
    if moved:
        at, by = now, approver
    else:
        last = max(chosen, key=lambda c: c.approved_at or now)
        at, by = last.approved_at or now, last.approved_by
    return ApproveOut(len(chosen), float(sfr_amount(total)), [c.distribution_id for c in chosen], at, by, total,
                      len(moved))


class RejectIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    calculation_ids: list[int]
    reason: str = ""


class RejectOut(msgspec.Struct, frozen=True, rename="camel"):
    rejected_count: int
    calculation_ids: list[int]
    rejected_at: dt.datetime
    rejected_by: str
    reason: str
    newly_rejected_count: int


async def reject_calculations(ctx: RewardsContext, caller: Principal, ip: str, data: RejectIn) -> RejectOut:
    ids = check_ids(data.calculation_ids, "calculationIds")
    if len(data.reason) > MAX_COMMENT:
        raise InvalidRequest(f"`reason` is at most {MAX_COMMENT} characters", details={"field": "reason"})
    who = await ctx.callers.user_id(caller)
    now = ctx.now()
    async with ctx.lock:
        calcs = await calculations.calculations_by_id(ctx, ids)
        missing("calculation", "calculationIds", ids, calcs)
        for c in calcs.values():
            if c.status is CalculationStatus.DISTRIBUTED:
                raise illegal("calculation", c.calculation_id, c.status, "rejected")
        fresh = [calcs[i] for i in ids if can_move(calcs[i].status, CalculationStatus.REJECTED)]
        dists = await distributions.by_id(ctx, [c.distribution_id for c in fresh if c.distribution_id])
        for d in dists.values():
            if d.state == distributions.DISTRIBUTED:  # a half-finished distribution: finish it, do not reject
                raise illegal("calculation", d.calculation_id, d.state, "rejected")
        await distributions.save(ctx, [distributions.moved(ctx, d, state=distributions.REJECTED)
                                       for d in dists.values()])
        await calculations.save(ctx, [calculations.moved(ctx, c, status=CalculationStatus.REJECTED, comment=data.reason)
                                      for c in fresh])
        for c in fresh:
            await ctx.audit.record(caller, ip, "calculation.reject", "calculation", str(c.calculation_id),
                                   before={"status": str(c.status), "distributionId": c.distribution_id},
                                   after={"status": "REJECTED", "reason": data.reason})
    return RejectOut(len(ids), ids, now, who, data.reason, len(fresh))


class ApprovalController(Controller):
    path = "/"
    tags = ["rewards"]

    @post("/approve", status_code=200, summary="Approve calculations for distribution (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def approve(self, data: ApproveIn, rewards: RewardsContext, caller: Principal,
                      request: Request[Any, Any, Any]) -> ApproveOut:
        return await approve_calculations(rewards, caller, request.client.host if request.client else "", data)

    @post("/reject", status_code=200, summary="Reject calculations (and their distributions) (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def reject(self, data: RejectIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> RejectOut:
        return await reject_calculations(rewards, caller, request.client.host if request.client else "", data)
