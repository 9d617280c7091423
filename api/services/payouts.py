"""Payouts for the API: lists and summaries from `payouts` (migration 0014), a miner's payments (seed 001),
its payout threshold, and manual payouts through the settlement's own plan -> send -> ledger path.

Visibility: an admin sees every payout; another caller those paying the addresses of its participants.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from api.dto.miners import Payment
from api.dto.payouts import (
    PayoutCoinTotal,
    PayoutCreate,
    PayoutOut,
    PayoutRecipient,
    PayoutSummary,
    Threshold,
)
from api.envelope import Paging
from api.errors import Forbidden, InvalidRequest, NotFound
from api.services.db import Db
from api.services.registry import Actor
from api.validation import require_address
from schemas.clock import Clock
from schemas.coins import Coin, coin, parse_decimal, to_decimal
from sinks.payouts import PAYOUT_SELECT, THRESHOLD_COLUMNS, Payout, payout_of

Pay = Callable[[str, str, int], Payout]  # (coin, address, base units) -> the payout (SettlementJob.pay)
_PARTICIPANT = "SELECT id, ton_wallet_address, owner FROM participants FINAL WHERE id = {id:UInt64}"
_OWNED = "SELECT ton_wallet_address FROM participants FINAL WHERE owner = {owner:String}"
_FILTER = ("WHERE ({all:UInt8} = 1 OR hasAny(addresses, {visible:Array(String)})) "
           "AND ({a:String} = '' OR has(addresses, {a:String})) AND ({c:String} = '' OR coin = {c:String})")
_THRESHOLDS = "SELECT coin, amount FROM payout_thresholds FINAL WHERE address = {a:String} ORDER BY coin"
_MINE = ("WHERE has(addresses, {a:String}) AND state != 'failed'")
_SUMMARY = ("SELECT coin, sum(amounts[indexOf(addresses, {a:String})]), count(), "
            "toUnixTimestamp64Milli(max(updated_at)) FROM payouts FINAL "
            "WHERE has(addresses, {a:String}) AND state IN ('sent', 'confirmed') GROUP BY coin ORDER BY coin")


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _decimals(code: str) -> int:
    try:
        return coin(code).decimals
    except ValueError:
        return 8


def payout_out(p: Payout) -> PayoutOut:
    d = _decimals(p.coin)
    return PayoutOut(id=p.payout_id, coin=p.coin, state=p.state, origin=p.origin, tx_hash=p.tx_hash, error=p.error,
                     total_base_units=p.total, total_str=to_decimal(p.total, d),
                     recipients=[PayoutRecipient(address=a, amount_base_units=v, amount_str=to_decimal(v, d))
                                 for a, v in p.recipients],
                     created_at=_utc(p.created_ms), updated_at=_utc(p.updated_ms))


class PayoutService:
    def __init__(self, db: Db, clock: Clock, coins: Callable[[str], Coin] = coin, pay: Pay | None = None) -> None:
        self._db = db
        self._clock = clock
        self._coins = coins
        self._pay = pay

    def _coin(self, code: str) -> Coin:
        try:
            return self._coins(code.upper())
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"coin": code[:16]}) from exc

    async def _participant_address(self, actor: Actor, participant_id: int) -> str:
        rows = await self._db.rows(_PARTICIPANT, {"id": participant_id})
        if not rows or not actor.owns(str(rows[0][2])):
            raise NotFound(f"no participant {participant_id}")
        return str(rows[0][1])

    async def page(self, actor: Actor, paging: Paging, *, participant_id: int | None = None, address: str = "",
                   code: str = "") -> tuple[list[PayoutOut], int]:
        if participant_id is not None:
            participant = await self._participant_address(actor, participant_id)
            if address and address != participant:
                return [], 0
            address = participant
        elif address:
            address = require_address(address)
        visible = [] if actor.admin else [str(r[0]) for r in await self._db.rows(_OWNED, {"owner": actor.subject})]
        params: dict[str, Any] = {"all": int(actor.admin or participant_id is not None), "visible": visible,
                                  "a": address, "c": self._coin(code).code if code else "",
                                  "limit": paging.limit, "offset": paging.offset}
        total = int((await self._db.rows(f"SELECT count() FROM payouts FINAL {_FILTER}", params))[0][0])
        rows = await self._db.rows(f"{PAYOUT_SELECT} {_FILTER} ORDER BY created_at DESC, payout_id DESC "
                                   "LIMIT {limit:UInt32} OFFSET {offset:UInt32}", params)
        return [payout_out(payout_of(r)) for r in rows], total

    async def get(self, actor: Actor, payout_id: str) -> PayoutOut:
        rows = await self._db.rows(f"{PAYOUT_SELECT} WHERE payout_id = {{p:String}}", {"p": payout_id[:80]})
        if not rows:
            raise NotFound(f"no payout {payout_id[:80]!r}")
        p = payout_of(rows[0])
        if not actor.admin:
            owned = {str(r[0]) for r in await self._db.rows(_OWNED, {"owner": actor.subject})}
            if not owned & {a for a, _ in p.recipients}:
                raise NotFound(f"no payout {payout_id[:80]!r}")
        return payout_out(p)

    async def create(self, body: PayoutCreate) -> PayoutOut:
        c = self._coin(body.coin)
        address = require_address(body.address)
        try:
            amount = parse_decimal(body.amount, c.decimals)
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"amount": body.amount[:40]}) from exc
        if self._pay is None:  # validated first: a bad request is a 400 wherever it lands
            raise Forbidden("manual payouts are not enabled in this process (no payment processor)")
        try:
            return payout_out(await asyncio.to_thread(self._pay, c.code, address, amount))
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"address": address, "coin": c.code}) from exc

    async def summary(self, actor: Actor, participant_id: int) -> PayoutSummary:
        address = await self._participant_address(actor, participant_id)
        totals = [PayoutCoinTotal(coin=str(c), paid_base_units=int(v), paid_str=to_decimal(int(v), _decimals(str(c))),
                                  payouts=int(n), last_payout_at=_utc(int(last)))
                  for c, v, n, last in await self._db.rows(_SUMMARY, {"a": address})]
        return PayoutSummary(participant_id=participant_id, address=address,
                             total_payouts=sum(t.payouts for t in totals), totals=totals)

    async def payments(self, address: str, paging: Paging) -> tuple[list[Payment], int]:
        """Seed 001 payments of one address: its part of every payout not failed, newest first."""
        address = require_address(address)
        params: dict[str, Any] = {"a": address, "limit": paging.limit, "offset": paging.offset}
        total = int((await self._db.rows(f"SELECT count() FROM payouts FINAL {_MINE}", params))[0][0])
        rows = await self._db.rows(f"{PAYOUT_SELECT} {_MINE} ORDER BY created_at DESC, payout_id DESC "
                                   "LIMIT {limit:UInt32} OFFSET {offset:UInt32}", params)
        return [_payment(payout_of(r), address) for r in rows], total

    async def set_threshold(self, actor: Actor, address: str, code: str, amount: str) -> Threshold:
        address = require_address(address)
        c = self._coin(code)
        try:
            units = parse_decimal(amount, c.decimals)
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"amount": amount[:40]}) from exc
        if units < 0:
            raise InvalidRequest("amount must not be negative")
        await self._require_owned(actor, address)
        await self._db.insert("payout_thresholds", [[address, c.code, units, actor.subject, self._clock.now()]],
                              THRESHOLD_COLUMNS)
        return _threshold(address, c, units)

    async def thresholds(self, actor: Actor, address: str) -> list[Threshold]:
        """The payout thresholds `address` has set, one per coin (none set: an empty list)."""
        address = require_address(address)
        await self._require_owned(actor, address)
        return [_threshold(address, self._coin(str(code)), int(units))
                for code, units in await self._db.rows(_THRESHOLDS, {"a": address})]

    async def _require_owned(self, actor: Actor, address: str) -> None:
        """An admin, or the owner of a participant with this address; anyone else gets NOT_FOUND."""
        if not actor.admin:
            owned = {str(r[0]) for r in await self._db.rows(_OWNED, {"owner": actor.subject})}
            if address not in owned:
                raise NotFound(f"no participant of yours has the address {address}")


def _threshold(address: str, c: Coin, units: int) -> Threshold:
    effective = max(units, c.payout_minimum)
    return Threshold(address=address, coin=c.code, amount_base_units=units, amount_str=to_decimal(units, c.decimals),
                     effective_base_units=effective, effective_str=to_decimal(effective, c.decimals))


def _payment(p: Payout, address: str) -> Payment:
    units = sum(v for a, v in p.recipients if a == address)
    d = _decimals(p.coin)
    return Payment(id=p.payout_id, amount=float(to_decimal(units, d)), amount_base_units=units, tx_hash=p.tx_hash,
                   timestamp=_utc(p.updated_ms if p.state != "planned" else p.created_ms), status=p.state)
