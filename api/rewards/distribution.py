"""Distribution of approved rewards (seed 003 §5.2, ADMIN): `POST /rewards/distribute` credits each APPROVED
distribution to its user in the money ledger (one row, `sfr_reward:<distributionId>`, api/rewards/sfr_ledger.py),
marks the distribution and its calculation DISTRIBUTED and fires one `reward.distributed` webhook per
distribution (an audit row with the event; jobs/reward_events.py puts it in the signed outbox of issue 10).

Rules, per request (all-or-nothing):
- an unknown distributionId: 404 NOT_FOUND; a REJECTED distribution: 409 REWARD_006 (nothing is distributed);
- `executionDate` (default now; not in the future): the ledger row's time and the distribution's effective time
  for the limits; distributing past a limit: 400 REWARD_003, nothing distributed;
- re-submitting changes nothing: an already DISTRIBUTED distribution is answered as it is, with no second
  ledger row and no second webhook.
Writes, in this order, under the rewards lock: the ledger rows (a deterministic key: a retry collapses into the
same row), the DISTRIBUTED versions of the distributions, of the calculations, then the audit/webhook rows. A
crash part-way is finished by the next submission of the same ids: it writes only what is missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, post

from api.errors import InvalidRequest
from api.rewards import calculations, distributions, sfr_ledger
from api.rewards.access import ADMIN
from api.rewards.approval import check_ids, illegal, missing
from api.rewards.context import RewardsContext
from api.rewards.distributions import DISTRIBUTED, REJECTED, Distribution
from api.rewards.limits import Planned, enforce
from api.rewards.problems import PROBLEMS
from api.security import Principal
from schemas.sfr import CalculationStatus, sfr_amount

EVENT = "reward.distributed"
ACTION = "distribution.distribute"
_AUDITED = ("SELECT DISTINCT target_id FROM reward_audit WHERE action = {a:String} AND target_id IN {ids:Array(String)} "
            "AND at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")


class DistributeIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    distribution_ids: list[int]
    execution_date: dt.datetime | None = None


class DistributedOut(msgspec.Struct, frozen=True, rename="camel"):
    distribution_id: int
    calculation_id: int
    user_id: str
    contribution_type: str
    amount: float
    amount_units: int
    status: str
    execution_date: dt.datetime | None
    ledger_entry_key: str


class DistributeOut(msgspec.Struct, frozen=True, rename="camel"):
    distributed_count: int
    total_distributed_amount: float
    total_distributed_amount_units: int
    distribution_ids: list[int]
    execution_date: dt.datetime
    distributed_at: dt.datetime
    distributed_by: str
    newly_distributed_count: int  # 0 for a re-submission
    results: list[DistributedOut]


def webhook_body(d: Distribution) -> dict[str, Any]:
    """The seed's `reward.distributed` body (+ ids and the exact amount)."""
    return {"event": EVENT, "userId": d.user_id, "amount": float(sfr_amount(d.amount_units)),
            "contributionType": d.contribution_type, "distributedAt": d.execution_date,
            "distributionId": d.distribution_id, "calculationId": d.calculation_id, "amountUnits": d.amount_units}


def _execution_date(given: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if given is None:
        return now
    at = given.replace(tzinfo=dt.UTC) if given.tzinfo is None else given.astimezone(dt.UTC)
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= at <= now:
        raise InvalidRequest("`executionDate` lies between 2000 and now (a distribution is not scheduled ahead)",
                             details={"field": "executionDate"})
    return at


async def _finish(ctx: RewardsContext, caller: Principal, ip: str, done: list[Distribution]) -> None:
    """Write what a finished distribution still lacks: its calculation's move and its audit/webhook row."""
    calcs = await calculations.calculations_by_id(ctx, [d.calculation_id for d in done])
    await calculations.save(ctx, [calculations.moved(ctx, c, status=CalculationStatus.DISTRIBUTED)
                                  for c in calcs.values() if c.status is CalculationStatus.APPROVED])
    # the audit row is written after the distribution's DISTRIBUTED version (at or after its distributed_at)
    since = min((d.distributed_at for d in done if d.distributed_at), default=ctx.now()) - dt.timedelta(minutes=1)
    audited = {str(r[0]) for r in await ctx.db.rows(_AUDITED, {"a": ACTION, "since": ctx.ms(since),
                                                               "ids": [str(d.distribution_id) for d in done]})}
    for d in done:
        if str(d.distribution_id) not in audited:
            await ctx.audit.record(caller, ip, ACTION, "distribution", str(d.distribution_id),
                                   before={"state": distributions.APPROVED},
                                   after={"state": DISTRIBUTED, "ledgerEntryKey": d.ledger_entry_key,
                                          "amountUnits": d.amount_units, "executionDate": d.execution_date},
                                   event=EVENT, event_body=webhook_body(d))


async def distribute(ctx: RewardsContext, caller: Principal, ip: str, data: DistributeIn) -> DistributeOut:
    ids = check_ids(data.distribution_ids, "distributionIds")
    who = await ctx.callers.user_id(caller)
    now = ctx.now()
    when = _execution_date(data.execution_date, now)
    async with ctx.lock:
        found = await distributions.by_id(ctx, ids)
        missing("distribution", "distributionIds", ids, found)
        for d in found.values():
            if d.state == REJECTED:
                raise illegal("distribution", d.distribution_id, d.state, "distributed")
        fresh = [found[i] for i in ids if found[i].state == distributions.APPROVED]
        await enforce(ctx, [Planned(d.contribution_type, d.amount_units, when) for d in fresh],
                      moving=[d.distribution_id for d in fresh])
        entries = [sfr_ledger.reward_entry(d.distribution_id, d.user_id, d.amount_units, when) for d in fresh]
        await sfr_ledger.write(ctx, entries, now)
        moved = [distributions.moved(ctx, d, state=DISTRIBUTED, execution_date=when, distributed_at=now,
                                     distributed_by=who, ledger_entry_key=sfr_ledger.reward_key(d.distribution_id))
                 for d in fresh]
        await distributions.save(ctx, moved)
        for d in moved:
            found[d.distribution_id] = d
        await _finish(ctx, caller, ip, [found[i] for i in ids])
    chosen = [found[i] for i in ids]
    total = sum(d.amount_units for d in chosen)
    results = [DistributedOut(d.distribution_id, d.calculation_id, d.user_id, d.contribution_type,
                              float(sfr_amount(d.amount_units)), d.amount_units, d.state, d.execution_date,
                              d.ledger_entry_key) for d in chosen]
    if moved:
        at, by = now, who
    else:
        last = max(chosen, key=lambda d: d.distributed_at or now)
        at, by, when = last.distributed_at or now, last.distributed_by, last.execution_date or when
    return DistributeOut(len(chosen), float(sfr_amount(total)), total, ids, when, at, by, len(moved), results)


class DistributionController(Controller):
    path = "/distribute"
    tags = ["rewards"]

    @post("/", status_code=200, summary="Distribute approved rewards into the SFR ledger (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def run(self, data: DistributeIn, rewards: RewardsContext, caller: Principal,
                  request: Request[Any, Any, Any]) -> DistributeOut:
        return await distribute(rewards, caller, request.client.host if request.client else "", data)
