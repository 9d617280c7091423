"""Rows of `reward_calculations` (migration 0019): the `Calculation` record, reading and writing versions.

What the other rewards modules rely on (the approval and distribution write status moves through here):
- `await calculations_by_id(ctx, ids)` -> {id: Calculation} (newest version of each, FINAL);
- `await active_for(ctx, contribution_id)` -> the contribution's newest calculation, or None;
- `await save(ctx, [calc, ...])` inserts versions; a status move is
  `dataclasses.replace(c, status=..., updated_at=ctx.version_after(c.updated_at))` after checking
  `schemas.sfr.can_move(c.status, to)` under `ctx.lock`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api.rewards.context import RewardsContext
from schemas.sfr import CalculationStatus, ContributionType

COLUMNS: tuple[str, ...] = (
    "calculation_id", "contribution_id", "user_id", "contribution_type", "base_factor", "contribution_score",
    "market_factor", "holding_factor", "calculated_units", "final_units", "formula", "market_price_jpy",
    "target_price_jpy", "factor_version", "batch_id", "status", "calculated_at", "calculated_by", "approved_at",
    "approved_by", "comment", "distribution_id", "updated_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM reward_calculations FINAL"


@dataclass(frozen=True)
class Calculation:
    calculation_id: int
    contribution_id: int
    user_id: str
    contribution_type: ContributionType
    base_factor: Decimal
    contribution_score: Decimal
    market_factor: Decimal
    holding_factor: Decimal
    calculated_units: int
    final_units: int
    formula: str
    market_price_jpy: Decimal
    target_price_jpy: Decimal
    factor_version: int
    batch_id: str
    status: CalculationStatus
    calculated_at: dt.datetime
    calculated_by: str
    approved_at: dt.datetime | None
    approved_by: str
    comment: str
    distribution_id: int
    updated_at: dt.datetime

    def row(self) -> list[Any]:
        return [getattr(self, c) if c not in ("contribution_type", "status") else str(getattr(self, c))
                for c in COLUMNS]


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def from_row(row: Sequence[Any]) -> Calculation:
    v = dict(zip(COLUMNS, row, strict=True))
    for name in ("calculation_id", "contribution_id", "calculated_units", "final_units", "factor_version",
                 "distribution_id"):
        v[name] = int(v[name])
    for name in ("base_factor", "contribution_score", "market_factor", "holding_factor", "market_price_jpy",
                 "target_price_jpy"):
        v[name] = Decimal(v[name])
    for name in ("calculated_at", "approved_at", "updated_at"):
        v[name] = _utc(v[name])
    v["contribution_type"] = ContributionType(v["contribution_type"])
    v["status"] = CalculationStatus(v["status"])
    return Calculation(**v)


async def calculations_by_id(ctx: RewardsContext, ids: Iterable[int]) -> dict[int, Calculation]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await ctx.db.rows(f"{_SELECT} WHERE calculation_id IN {{ids:Array(UInt64)}}", {"ids": wanted})
    return {c.calculation_id: c for c in map(from_row, rows)}


async def active_for(ctx: RewardsContext, contribution_id: int) -> Calculation | None:
    rows = await ctx.db.rows(f"{_SELECT} WHERE contribution_id = {{c:UInt64}} ORDER BY calculation_id DESC LIMIT 1",
                             {"c": contribution_id})
    return from_row(rows[0]) if rows else None


async def save(ctx: RewardsContext, versions: Sequence[Calculation]) -> None:
    if versions:
        await ctx.insert("reward_calculations", [c.row() for c in versions], COLUMNS)


def moved(ctx: RewardsContext, calc: Calculation, **changes: Any) -> Calculation:
    """The next version of `calc` with `changes` (its updated_at strictly newer)."""
    return dataclasses.replace(calc, **changes, updated_at=ctx.version_after(calc.updated_at))
