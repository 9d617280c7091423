"""The rewards audit log, read (seed 003 "監査ログ", ADMIN): `GET /rewards/audit` lists `reward_audit` newest
first as a PageResponse, filtered by `action`, `targetType`, `targetId`, `actor` (the caller's subject),
`userId` (the caller's userId), `event` and `from`/`to` (inclusive). `before`/`after`/`eventBody` are the JSON
objects written (null when none). Every reward operation writes its row through api/rewards/audit_log.py.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from api.errors import InvalidRequest
from api.rewards.access import ADMIN
from api.rewards.context import RewardsContext
from api.rewards.paging import PageQuery, PageResponse
from api.rewards.problems import PROBLEMS

_COLUMNS = "audit_id, at, actor, actor_user_id, role, action, target_type, target_id, before, after, event, event_body, ip"
#: query parameter -> the column it filters (String equality)
FILTERS = {"action": "action", "targetType": "target_type", "targetId": "target_id", "actor": "actor",
           "userId": "actor_user_id", "event": "event"}
MAX_FILTER = 256


class AuditEntry(msgspec.Struct, frozen=True, rename="camel"):
    audit_id: str
    at: dt.datetime
    actor: str
    user_id: str
    role: str
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    event: str
    event_body: Any
    ip: str


def _json(text: str) -> Any:
    return json.loads(text) if text else None


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


async def read_audit(ctx: RewardsContext, page: PageQuery, filters: dict[str, str | None], since: dt.datetime | None,
                     until: dt.datetime | None) -> PageResponse[AuditEntry]:
    where, params = ["1"], dict[str, Any]()
    for name, value in filters.items():
        if value is None:
            continue
        if len(value) > MAX_FILTER:
            raise InvalidRequest(f"`{name}` is at most {MAX_FILTER} characters", details={"field": name})
        where.append(f"{FILTERS[name]} = {{{name}:String}}")
        params[name] = value
    if since is not None:
        where.append("at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")
        params["since"] = ctx.ms(since)
    if until is not None:
        where.append("at <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')")
        params["until"] = ctx.ms(until)
    cond = " AND ".join(where)
    total = int((await ctx.db.rows(f"SELECT count() FROM reward_audit WHERE {cond}", params))[0][0])
    rows = await ctx.db.rows(f"SELECT {_COLUMNS} FROM reward_audit WHERE {cond} ORDER BY at DESC, audit_id DESC "
                             "LIMIT {n:UInt32} OFFSET {o:UInt64}", {**params, "n": page.size, "o": page.offset})
    items = [AuditEntry(str(a), _utc(at), str(actor), str(user), str(role), str(action), str(tt), str(tid),
                        _json(before), _json(after), str(event), _json(body), str(ip))
             for a, at, actor, user, role, action, tt, tid, before, after, event, body, ip in rows]
    return PageResponse.of(items, page, total)


class AuditController(Controller):
    path = "/audit"
    tags = ["rewards"]

    @get("/", summary="The rewards audit log, newest first (ADMIN)", guards=ADMIN, responses=PROBLEMS)
    async def list(self, rewards: RewardsContext, page_query: PageQuery,
                   action: str | None = None,
                   target_type: Annotated[str | None, Parameter(query="targetType")] = None,
                   target_id: Annotated[str | None, Parameter(query="targetId")] = None,
                   subject: Annotated[str | None, Parameter(query="actor")] = None,
                   user_id: Annotated[str | None, Parameter(query="userId")] = None,
                   event: str | None = None,
                   from_: Annotated[dt.datetime | None, Parameter(query="from")] = None,
                   to: dt.datetime | None = None) -> PageResponse[AuditEntry]:
        filters = {"action": action, "targetType": target_type, "targetId": target_id, "actor": subject,
                   "userId": user_id, "event": event}
        return await read_audit(rewards, page_query, filters, from_, to)
