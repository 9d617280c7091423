"""What every rewards module shares: ClickHouse, the clock, settings, the one write lock with its id
allocation, the caller resolver and the audit log. The router provides it as the dependency `rewards`.

What the other rewards modules rely on:
- `async with ctx.lock:` around any read-check-write (a state move, an id allocation + insert); one lock for
  the whole resource (writes are rare; chDB has one writer process, on a ClickHouse server run the rewards
  writes in one API process, as the registry's);
- `await ctx.next_id(TABLE, COLUMN)` (lock held): max + 1 of a numeric id column, from 1;
- `ctx.ms(at)`: a time as a query parameter (`fromUnixTimestamp64Milli({at:Int64}, 'UTC')`);
- `ctx.version_after(previous)`: an `updated_at` newer than `previous` even within one millisecond;
- `ctx.audit.record(...)` (api/rewards/audit_log.py), `ctx.callers` (api/rewards/access.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api.auth.store import next_version
from api.rewards.access import Callers
from api.rewards.audit_log import AuditLog
from api.rewards.settings import RewardsSettings
from api.services.db import Db
from schemas.clock import Clock

#: tables and their numeric id column (constants: never user input in SQL)
ID_COLUMNS = {"reward_contributions": "contribution_id", "reward_calculations": "calculation_id",
              "reward_factors": "factor_version", "reward_market_prices": "price_id", "reward_limits": "limit_id",
              "reward_distributions": "distribution_id", "reward_batches": "id"}


@dataclass
class RewardsContext:
    db: Db
    clock: Clock
    settings: RewardsSettings = field(default_factory=RewardsSettings)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    callers: Callers = field(init=False)
    audit: AuditLog = field(init=False)

    def __post_init__(self) -> None:
        self.callers = Callers(self.db)
        self.audit = AuditLog(self.db, self.clock, self.callers)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def version_after(self, previous: dt.datetime) -> dt.datetime:
        at = previous.replace(tzinfo=dt.UTC) if previous.tzinfo is None else previous
        return next_version(at, self.now())

    async def next_id(self, table: str) -> int:
        """The next id of `table` (a key of ID_COLUMNS). Call with `lock` held and insert before releasing."""
        assert self.lock.locked(), "rewards ids are allocated under the rewards lock"
        rows = await self.db.rows(f"SELECT max({ID_COLUMNS[table]}) FROM {table}", {})
        return int(rows[0][0]) + 1 if rows else 1

    @staticmethod
    def ms(at: dt.datetime) -> int:
        """`at` as Unix milliseconds, for `fromUnixTimestamp64Milli({name:Int64}, 'UTC')` parameters."""
        return int(at.timestamp() * 1000)

    async def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        await self.db.insert(table, rows, columns)
