"""SFR payments and staking (SYSTEM): `POST /rewards/sfr-movements` records that a user paid with SFR, staked SFR
or unstaked it, as ledger rows of documented kinds (api/rewards/sfr_ledger.py). The holding incentive reads
them back (payment usage, staking months and amount); the wallet or exchange side that sees them reports them.

Rules: `amount` > 0 with at most 8 decimal places; a payment or a stake needs that much free SFR (the user's
ledger balance), an unstake that much staked (else 400 INVALID_REQUEST, nothing written); `referenceId` makes
the movement idempotent: the same reference sent again changes nothing and answers `created: false` (with a
different amount or user it is 409 CONFLICT). `occurredAt` (default now, not in the future) is the rows' time.
Audited as `sfr.payment`, `sfr.stake`, `sfr.unstake`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, post

from api.envelope import ErrorCode
from api.errors import ApiError, InvalidRequest
from api.rewards import sfr_ledger
from api.rewards.access import SYSTEM
from api.rewards.context import RewardsContext
from api.rewards.problems import PROBLEMS
from api.security import Principal
from schemas.sfr import MAX_FIGURE, sfr_amount, sfr_units

REFERENCE = re.compile(r"[A-Za-z0-9._\-]{1,128}")


class Conflict(ApiError):
    status_code = 409
    code = ErrorCode.INVALID_REQUEST


class MovementIn(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    user_id: str
    movement_type: Literal["payment", "stake", "unstake"]
    amount: Decimal
    reference_id: str
    occurred_at: dt.datetime | None = None


class MovementOut(msgspec.Struct, frozen=True, rename="camel"):
    user_id: str
    movement_type: str
    amount: float
    amount_units: int
    reference_id: str
    entry_keys: list[str]
    occurred_at: dt.datetime
    created: bool
    free_units: int  # the user's free SFR after the movement
    staked_units: int


def _units(amount: Decimal) -> int:
    try:
        units = sfr_units(amount) if amount.is_finite() and amount <= MAX_FIGURE else 0
    except ValueError:
        units = 0
    if units <= 0:
        raise InvalidRequest("`amount` is an SFR amount > 0 with at most 8 decimal places", details={"field": "amount"})
    return units


async def record_movement(ctx: RewardsContext, caller: Principal, ip: str, data: MovementIn) -> MovementOut:
    units = _units(data.amount)
    if not REFERENCE.fullmatch(data.reference_id):
        raise InvalidRequest("`referenceId` is 1 to 128 of A-Z a-z 0-9 . _ -", details={"field": "referenceId"})
    if not 1 <= len(data.user_id) <= 64 or sfr_ledger.STAKED_SUFFIX in data.user_id:
        raise InvalidRequest("`userId` is 1 to 64 characters", details={"field": "userId"})
    now = ctx.now()
    at = data.occurred_at or now
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= at <= now:
        raise InvalidRequest("`occurredAt` lies between 2000 and now", details={"field": "occurredAt"})
    entries = sfr_ledger.movement_entries(data.movement_type, data.reference_id, data.user_id, units, at)
    keys = [e.entry_key for e in entries]
    async with ctx.lock:
        known = await sfr_ledger.existing(ctx, keys)
        if known:
            if known.get(keys[0]) != entries[0].amount:
                raise Conflict(f"reference {data.reference_id!r} was recorded with other figures",
                               details={"field": "referenceId"})
            rows = await ctx.db.rows("SELECT address, toUnixTimestamp64Milli(ts) FROM ledger FINAL "
                                     "WHERE entry_key = {k:String}", {"k": keys[0]})
            if str(rows[0][0]) != data.user_id:
                raise Conflict(f"reference {data.reference_id!r} belongs to another user",
                               details={"field": "referenceId"})
            at = dt.datetime.fromtimestamp(int(rows[0][1]) / 1000, dt.UTC)
        else:
            free, staked = await sfr_ledger.balances(ctx, data.user_id)
            available = staked if data.movement_type == "unstake" else free
            if units > available:
                raise InvalidRequest(f"{data.user_id} has {sfr_amount(available)} SFR "
                                     f"{'staked' if data.movement_type == 'unstake' else 'free'}, "
                                     f"less than {sfr_amount(units)}", details={"field": "amount"})
            await sfr_ledger.write(ctx, entries, now)
        free, staked = await sfr_ledger.balances(ctx, data.user_id)
    out = MovementOut(data.user_id, data.movement_type, float(sfr_amount(units)), units, data.reference_id, keys, at,
                      not known, free, staked)
    if not known:
        await ctx.audit.record(caller, ip, f"sfr.{data.movement_type}", "ledger", keys[0],
                               after=msgspec.to_builtins(out))
    return out


class MovementsController(Controller):
    path = "/sfr-movements"
    tags = ["rewards"]

    @post("/", summary="Record an SFR payment, stake or unstake of a user (SYSTEM)", guards=SYSTEM, responses=PROBLEMS)
    async def record(self, data: MovementIn, rewards: RewardsContext, caller: Principal,
                     request: Request[Any, Any, Any]) -> MovementOut:
        return await record_movement(rewards, caller, request.client.host if request.client else "", data)
