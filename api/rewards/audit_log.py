"""The writer of `reward_audit` (migration 0019): every reward operation, who did it, on what, the state
before and after (JSON). A row may also carry a webhook event (`event`, `event_body`): the notification job
(jobs/reward_events.py) delivers it once per webhook URL through the signed outbox of issue 10.

What the other rewards modules rely on:
    await ctx.audit.record(caller, ip, "calculation.approve", "calculation", str(id), before={...}, after={...})
    await ctx.audit.record(..., event="reward.distributed", event_body={...})   # also a webhook
`before`/`after` are JSON-able dicts (Decimals become strings, datetimes ISO 8601) or None.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from api.rewards.access import Callers, role_of
from api.security import Principal
from api.services.db import Db
from schemas.clock import Clock

AUDIT_COLUMNS = ("audit_id", "at", "actor", "actor_user_id", "role", "action", "target_type", "target_id",
                 "before", "after", "event", "event_body", "ip")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def to_json(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, default=_default, separators=(",", ":"), sort_keys=True,
                                               ensure_ascii=False)


class AuditLog:
    def __init__(self, db: Db, clock: Clock, callers: Callers) -> None:
        self._db = db
        self._clock = clock
        self._callers = callers

    async def record(self, caller: Principal, ip: str, action: str, target_type: str, target_id: str, *,
                     before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                     event: str = "", event_body: dict[str, Any] | None = None) -> str:
        """Append one audit row; returns its id."""
        audit_id = uuid.uuid4().hex
        user_id = await self._callers.user_id(caller) if caller.authenticated else ""
        row = [audit_id, self._clock.now(), caller.subject, user_id, role_of(caller), action, target_type, target_id,
               to_json(before), to_json(after), event, to_json(event_body) if event else "", ip]
        await self._db.insert("reward_audit", [row], AUDIT_COLUMNS)
        return audit_id
