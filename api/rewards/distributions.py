"""Rows of `reward_distributions` (migration 0019): one per approved calculation, state APPROVED (waiting) ->
DISTRIBUTED (its ledger row written) or REJECTED. Versions by `updated_at`, read with FINAL.

What the other rewards modules rely on: `Distribution`, `await by_id(ctx, ids)`, `await save(ctx, [d, ...])`,
`await committed(ctx, start, end, category)` (what counts against a limit: api/rewards/limits.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from api.rewards.context import RewardsContext

APPROVED, DISTRIBUTED, REJECTED = "APPROVED", "DISTRIBUTED", "REJECTED"
COLUMNS = ("distribution_id", "calculation_id", "user_id", "contribution_type", "amount_units", "state",
           "approved_by", "approved_at", "approval_comment", "execution_date", "distributed_at", "distributed_by",
           "ledger_entry_key", "updated_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM reward_distributions FINAL"
#: the time a distribution counts at against a limit: its execution date once distributed, else its approval
EFFECTIVE_AT = "if(state = 'DISTRIBUTED', assumeNotNull(execution_date), approved_at)"


@dataclass(frozen=True)
class Distribution:
    distribution_id: int
    calculation_id: int
    user_id: str
    contribution_type: str
    amount_units: int
    state: str
    approved_by: str
    approved_at: dt.datetime
    approval_comment: str
    execution_date: dt.datetime | None
    distributed_at: dt.datetime | None
    distributed_by: str
    ledger_entry_key: str
    updated_at: dt.datetime

    def row(self) -> list[Any]:
        return [getattr(self, c) for c in COLUMNS]

    @property
    def effective_at(self) -> dt.datetime:
        return self.execution_date if self.state == DISTRIBUTED and self.execution_date else self.approved_at


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def from_row(row: Sequence[Any]) -> Distribution:
    v = dict(zip(COLUMNS, row, strict=True))
    for name in ("distribution_id", "calculation_id", "amount_units"):
        v[name] = int(v[name])
    for name in ("approved_at", "execution_date", "distributed_at", "updated_at"):
        v[name] = _utc(v[name])
    return Distribution(**v)


async def by_id(ctx: RewardsContext, ids: Iterable[int]) -> dict[int, Distribution]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await ctx.db.rows(f"{_SELECT} WHERE distribution_id IN {{ids:Array(UInt64)}}", {"ids": wanted})
    return {d.distribution_id: d for d in map(from_row, rows)}


async def save(ctx: RewardsContext, versions: Sequence[Distribution]) -> None:
    if versions:
        await ctx.insert("reward_distributions", [d.row() for d in versions], COLUMNS)


def moved(ctx: RewardsContext, d: Distribution, **changes: Any) -> Distribution:
    """The next version of `d` with `changes` (its updated_at strictly newer)."""
    return dataclasses.replace(d, **changes, updated_at=ctx.version_after(d.updated_at))


async def committed(ctx: RewardsContext, start: dt.datetime, end: dt.datetime, category: str,
                    excluded: Iterable[int] = ()) -> int:
    """Σ units of APPROVED and DISTRIBUTED distributions of `category` ('' = all) effective in [start, end],
    leaving out the distributions `excluded`."""
    rows = await ctx.db.rows(
        f"SELECT sum(amount_units) FROM reward_distributions FINAL WHERE state IN ('APPROVED', 'DISTRIBUTED') "
        f"AND ({{cat:String}} = '' OR contribution_type = {{cat:String}}) "
        f"AND {EFFECTIVE_AT} BETWEEN fromUnixTimestamp64Milli({{s:Int64}}, 'UTC') "
        f"AND fromUnixTimestamp64Milli({{e:Int64}}, 'UTC') AND distribution_id NOT IN {{x:Array(UInt64)}}",
        {"cat": category, "s": ctx.ms(start), "e": ctx.ms(end), "x": sorted(set(excluded))})
    return int(rows[0][0]) if rows else 0
