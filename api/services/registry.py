"""What the registry services share: the write lock and integer ids, row versions, the audit log, the caller.

Ids are small integers, as seed 004 shows (`"id": 1`) and as a JavaScript client can hold exactly (a 63-bit
time-based id could not: JSON numbers above 2^53 lose digits there). ClickHouse has no sequence, so the next
id is `max(id) + 1`, read and inserted under one asyncio lock. That is safe because one process writes the
registry: on chDB by construction (one process per data directory); on a ClickHouse server, run the
registry's writes in one API process (documented in the README). Writes are rare; one lock serves them all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.auth.store import AccountStore, next_version
from api.errors import InvalidRequest
from api.security import Permission, Principal
from api.services.db import Db
from schemas.clock import Clock

MAX_JSON_BYTES = 16_384


@dataclass(frozen=True)
class Actor:
    """Who writes, for ownership checks and the audit log."""

    subject: str
    admin: bool
    ip: str

    @classmethod
    def of(cls, caller: Principal, ip: str) -> Actor:
        return cls(subject=caller.subject, admin=caller.has(Permission.ADMIN), ip=ip)

    def owns(self, owner: str) -> bool:
        return self.admin or owner == self.subject


class Registry:
    """The registry's ClickHouse access, clock, lock, ids and audit entries."""

    def __init__(self, db: Db, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.lock = asyncio.Lock()
        self._accounts = AccountStore(db)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def version_after(self, previous: dt.datetime) -> dt.datetime:
        """An `updated_at` that wins over `previous` even within the same millisecond."""
        return next_version(utc(previous), self.now())

    async def next_id(self, table: str) -> int:
        """The next id of `table` (a constant of ours). Call with `lock` held, and insert before releasing."""
        assert self.lock.locked(), "ids are allocated under the registry lock"
        rows = await self.db.rows(f"SELECT max(id) FROM {table}", {})
        return int(rows[0][0]) + 1 if rows else 1

    async def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        await self.db.insert(table, rows, columns)

    async def audit(self, actor: Actor, action: str, target: str, details: dict[str, Any]) -> None:
        await self._accounts.audit(self.now(), actor.subject, action, target, details, actor.ip)


def utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else utc(value)


def to_json(value: Any, field: str) -> str:
    """`value` as compact JSON, or INVALID_REQUEST when it is over 16 KiB."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > MAX_JSON_BYTES:
        raise InvalidRequest(f"`{field}` is larger than {MAX_JSON_BYTES} bytes of JSON", details={"field": field})
    return text


def from_json(text: str, default: Any) -> Any:
    return json.loads(text) if text else default
