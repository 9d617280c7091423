"""The accounts store over ClickHouse: users, API keys (hashed) and the audit log (migration 0007).

Users and keys are ReplacingMergeTree tables: a change is a new row version (newest `updated_at` wins, the
later insert on a tie) and every read uses FINAL. The tables are tiny; `key_by_id` scans, which is fine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.services.db import Db

_MS = dt.timedelta(milliseconds=1)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def next_version(previous: dt.datetime, now: dt.datetime) -> dt.datetime:
    """An `updated_at` strictly after `previous` (a change in the same millisecond must still win)."""
    return max(now, previous + _MS)


@dataclass(frozen=True)
class UserRow:
    username: str
    user_id: str
    password_hash: str
    role: str
    tier: str
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class KeyRow:
    key_hash: str
    key_id: str
    username: str
    permissions: tuple[str, ...]
    tier: str
    expires_at: dt.datetime
    revoked: bool
    created_at: dt.datetime
    updated_at: dt.datetime


USER_COLUMNS = [f.name for f in dataclasses.fields(UserRow)]
KEY_COLUMNS = [f.name for f in dataclasses.fields(KeyRow)]
AUDIT_COLUMNS = ["ts", "actor", "action", "target", "details", "ip"]


def _user(row: Sequence[Any]) -> UserRow:
    name, uid, pw, role, tier, disabled, created, updated = row
    return UserRow(name, uid, pw, role, tier, bool(disabled), _utc(created), _utc(updated))


def _key(row: Sequence[Any]) -> KeyRow:
    h, kid, name, perms, tier, expires, revoked, created, updated = row
    return KeyRow(h, kid, name, tuple(perms), tier, _utc(expires), bool(revoked), _utc(created), _utc(updated))


class AccountStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def user(self, username: str) -> UserRow | None:
        rows = await self._db.rows(
            f"SELECT {', '.join(USER_COLUMNS)} FROM users FINAL WHERE username = {{u:String}}", {"u": username}
        )
        return _user(rows[0]) if rows else None

    async def users(self, *, offset: int = 0, limit: int = 100) -> tuple[list[UserRow], int]:
        rows = await self._db.rows(
            f"SELECT {', '.join(USER_COLUMNS)}, count() OVER () FROM users FINAL ORDER BY username "
            "LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
            {"limit": limit, "offset": offset},
        )
        total = int(rows[0][-1]) if rows else await self._count("users")
        return [_user(r[:-1]) for r in rows], total

    async def save_user(self, user: UserRow) -> None:
        await self._db.insert("users", [dataclasses.astuple(user)], USER_COLUMNS)

    async def key_by_hash(self, hashed: str) -> KeyRow | None:
        rows = await self._db.rows(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM api_keys FINAL WHERE key_hash = {{h:String}}", {"h": hashed}
        )
        return _key(rows[0]) if rows else None

    async def key_by_id(self, key_id: str) -> KeyRow | None:
        rows = await self._db.rows(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM api_keys FINAL WHERE key_id = {{k:String}}", {"k": key_id}
        )
        return _key(rows[0]) if rows else None

    async def keys_of(self, username: str) -> list[KeyRow]:
        rows = await self._db.rows(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM api_keys FINAL WHERE username = {{u:String}} "
            "ORDER BY created_at DESC, key_id",
            {"u": username},
        )
        return [_key(r) for r in rows]

    async def save_key(self, key: KeyRow) -> None:
        row = dataclasses.astuple(key)
        await self._db.insert("api_keys", [(*row[:3], list(key.permissions), *row[4:])], KEY_COLUMNS)

    async def audit(self, ts: dt.datetime, actor: str, action: str, target: str, details: dict[str, Any],
                    ip: str) -> None:
        """Append one entry to `audit_log` (who changed what; `details` must not hold secrets)."""
        row = (ts, actor, action, target, json.dumps(details, sort_keys=True, default=str), ip)
        await self._db.insert("audit_log", [row], AUDIT_COLUMNS)

    async def last_audit(self) -> dt.datetime | None:
        """When the newest audit entry was written (None when there is none)."""
        rows = await self._db.rows("SELECT max(ts), count() FROM audit_log", {})
        return _utc(rows[0][0]) if rows and rows[0][1] else None

    async def _count(self, table: str) -> int:
        rows = await self._db.rows(f"SELECT count() FROM {table} FINAL", {})
        return int(rows[0][0])
