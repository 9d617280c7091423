"""Participants (seed 004): a payout address, who it belongs to, and the totals of its registered workers.

A wallet address belongs to at most one participant. A caller sees and changes only the participants it
created (`owner`), an admin every one; someone else's participant is NOT_FOUND, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.dto.registry import Participant, ParticipantCreate
from api.envelope import Paging
from api.errors import InvalidRequest, NotFound
from api.services.registry import Actor, Registry, utc
from api.services.windows import TEN_MINUTES, to_ms
from api.validation import require_address

COLUMNS = ["id", "ton_wallet_address", "telegram_user_id", "username", "email", "owner", "is_active",
           "created_at", "updated_at"]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM participants FINAL"
_VISIBLE = "({admin:UInt8} = 1 OR owner = {owner:String})"

# Registered workers per participant, and which (address, worker) pairs had an accepted share in 10 min.
_WORKER_COUNTS = (
    "SELECT participant_id, address, worker_name FROM workers FINAL "
    "WHERE participant_id IN {ids:Array(UInt64)} AND deleted = 0"
)
_ACTIVE = (
    "SELECT miner, worker FROM shares_1m WHERE miner IN {miners:Array(String)} "
    "AND bucket >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') GROUP BY miner, worker "
    "HAVING max(last_accepted_ts) >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')"
)


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    ton_wallet_address: str
    telegram_user_id: int | None
    username: str
    email: str
    owner: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


def _row(r: Sequence[Any]) -> ParticipantRow:
    pid, address, telegram, username, email, owner, active, created, updated = r
    return ParticipantRow(int(pid), str(address), None if telegram is None else int(telegram), str(username),
                          str(email), str(owner), bool(active), utc(created), utc(updated))


class ParticipantService:
    def __init__(self, registry: Registry) -> None:
        self._reg = registry

    async def create(self, actor: Actor, body: ParticipantCreate) -> Participant:
        address = _address_of(body)
        if body.email and ("@" not in body.email or any(c.isspace() for c in body.email)):
            raise InvalidRequest("email must look like name@domain", details={"field": "email"})
        async with self._reg.lock:
            if await self._by_address(address) is not None:
                raise InvalidRequest("this wallet address is already registered as a participant",
                                     details={"field": "ton_wallet_address", "address": address})
            now = self._reg.now()
            row = ParticipantRow(await self._reg.next_id("participants"), address, body.telegram_user_id,
                                 body.username, body.email, actor.subject, True, now, now)
            await self._reg.insert("participants", [_values(row)], COLUMNS)
        await self._reg.audit(actor, "participant.create", f"participant:{row.id}",
                              {"address": address, "username": body.username})
        return (await self._with_totals([row]))[0]

    async def page(self, actor: Actor, paging: Paging) -> tuple[list[Participant], int]:
        params = {"admin": int(actor.admin), "owner": actor.subject, "limit": paging.limit, "offset": paging.offset}
        rows = await self._reg.db.rows(
            f"{_SELECT} WHERE {_VISIBLE} ORDER BY id LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}", params)
        total = await self._reg.db.rows(f"SELECT count() FROM participants FINAL WHERE {_VISIBLE}", params)
        return await self._with_totals([_row(r) for r in rows]), int(total[0][0])

    async def get(self, actor: Actor, participant_id: int) -> Participant:
        return (await self._with_totals([await self.owned(actor, participant_id)]))[0]

    async def by_wallet(self, actor: Actor, address: str) -> Participant:
        row = await self._by_address(require_address(address))
        if row is None or not actor.owns(row.owner):
            raise NotFound("no participant with this wallet address", details={"address": address})
        return (await self._with_totals([row]))[0]

    async def owned(self, actor: Actor, participant_id: int) -> ParticipantRow:
        """The participant if it exists and `actor` may see it, else NotFound."""
        rows = await self._reg.db.rows(f"{_SELECT} WHERE id = {{id:UInt64}}", {"id": participant_id})
        if not rows or not actor.owns(_row(rows[0]).owner):
            raise NotFound(f"no participant {participant_id}", details={"participant_id": participant_id})
        return _row(rows[0])

    async def owned_by(self, actor: Actor) -> list[ParticipantRow]:
        """Every participant `actor` created (at most 100, oldest first)."""
        rows = await self._reg.db.rows(f"{_SELECT} WHERE owner = {{owner:String}} ORDER BY id LIMIT 100",
                                       {"owner": actor.subject})
        return [_row(r) for r in rows]

    async def _by_address(self, address: str) -> ParticipantRow | None:
        rows = await self._reg.db.rows(f"{_SELECT} WHERE ton_wallet_address = {{a:String}} ORDER BY id LIMIT 1",
                                       {"a": address})
        return _row(rows[0]) if rows else None

    async def _with_totals(self, rows: list[ParticipantRow]) -> list[Participant]:
        if not rows:
            return []
        workers = await self._reg.db.rows(_WORKER_COUNTS, {"ids": [r.id for r in rows]})
        now_ms = to_ms(self._reg.now())
        active_pairs: set[tuple[str, str]] = set()
        miners = sorted({str(a) for _, a, _ in workers})
        if miners:
            found = await self._reg.db.rows(_ACTIVE, {
                "miners": miners, "from_ms": TEN_MINUTES.aligned_start_ms(now_ms),
                "since_ms": TEN_MINUTES.start_ms(now_ms)})
            active_pairs = {(str(m), str(w)) for m, w in found}
        total: dict[int, int] = {}
        active: dict[int, int] = {}
        for pid, address, name in workers:
            total[int(pid)] = total.get(int(pid), 0) + 1
            if (str(address), str(name)) in active_pairs:
                active[int(pid)] = active.get(int(pid), 0) + 1
        return [_participant(r, total.get(r.id, 0), active.get(r.id, 0)) for r in rows]


def _address_of(body: ParticipantCreate) -> str:
    given = {a for a in (body.ton_wallet_address, body.address) if a is not None}
    if not given:
        raise InvalidRequest("ton_wallet_address (the payout address) is required",
                             details={"field": "ton_wallet_address"})
    if len(given) > 1:
        raise InvalidRequest("ton_wallet_address and address differ; send one",
                             details={"field": "ton_wallet_address"})
    return require_address(given.pop())


def _values(row: ParticipantRow) -> tuple[Any, ...]:
    return (row.id, row.ton_wallet_address, row.telegram_user_id, row.username, row.email, row.owner,
            int(row.is_active), row.created_at, row.updated_at)


def _participant(row: ParticipantRow, total_workers: int, active_workers: int) -> Participant:
    return Participant(
        id=row.id, ton_wallet_address=row.ton_wallet_address, address=row.ton_wallet_address,
        telegram_user_id=row.telegram_user_id, username=row.username, email=row.email, owner=row.owner,
        is_active=row.is_active, total_workers=total_workers, active_workers=active_workers,
        total_revenue=0, total_revenue_ton=0, total_payouts=0, created_at=row.created_at, updated_at=row.updated_at,
    )
