"""Balances, block credits and admin adjustments, all derived from the append-only `ledger` (migration 0011).

Per address and coin, in base units (integers; the decimal strings beside them are for display):
pending = credits (and their reversals) of blocks not yet confirmed; mature = credits of confirmed blocks +
PPS/FPPS credits (no block: mature at once, the pool carries the risk) + adjustments − payouts;
paid = Σ payouts. An orphaned block's credit and its reversal cancel out.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from api.errors import InvalidRequest, NotFound
from api.services.db import Db
from api.validation import require_address
from schemas.clock import Clock
from schemas.coins import coin, parse_decimal, to_decimal
from sinks.ledger import LEDGER_COLUMNS, LEDGER_TABLE

_STATES = "SELECT hash, argMax(status, updated_at) AS state FROM blocks GROUP BY hash"
_BALANCES = (
    "SELECT l.coin, "
    "sumIf(l.amount, l.kind IN ('credit', 'reversal') AND s.state != 'confirmed' AND l.block_hash != ''), "
    "sumIf(l.amount, (l.kind IN ('credit', 'reversal') AND (s.state = 'confirmed' OR l.block_hash = '')) "
    "OR l.kind IN ('adjustment', 'payout')), "
    "-sumIf(l.amount, l.kind = 'payout') "
    "FROM (SELECT coin, kind, amount, block_hash FROM ledger FINAL WHERE address = {a:String}) AS l "
    f"LEFT JOIN ({_STATES}) AS s ON s.hash = l.block_hash "
    "GROUP BY l.coin ORDER BY l.coin"
)
_BLOCK = ("SELECT argMax(height, updated_at), argMax(coin, updated_at), argMax(reward, updated_at), "
          "argMax(miner, updated_at), toUnixTimestamp64Milli(min(ts)), argMax(status, updated_at) "
          "FROM blocks WHERE hash = {h:String} GROUP BY hash")
_CREDITS = ("SELECT entry_key, address, kind, amount, reason FROM ledger FINAL WHERE block_hash = {h:String} "
            "ORDER BY kind, address, entry_key")


def _decimals(code: str) -> int:
    try:
        return coin(code).decimals
    except ValueError:
        return 8


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    coin: str
    pending_base_units: int
    pending_str: str
    mature_base_units: int
    mature_str: str
    paid_base_units: int
    paid_str: str


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    entry_key: str
    address: str  # "" for the pool's rows (fee, remainder)
    kind: str
    amount_base_units: int
    amount_str: str
    reason: str


class BlockCredits(msgspec.Struct, frozen=True, kw_only=True):
    hash: str
    height: int
    currency: str
    status: str
    found_by: str
    found_at: dt.datetime
    reward_base_units: int
    reward_str: str
    credits: list[LedgerLine]  # every ledger row of the block: credits, fee, remainder, reversals


class AdjustmentRequest(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    coin: str
    amount: str  # signed decimal string in coin units, e.g. "-0.00012345"
    reason: str
    id: str = ""  # idempotency key: the same id twice writes one row (default: a new one)


class Adjustment(msgspec.Struct, frozen=True, kw_only=True):
    entry_key: str
    address: str
    coin: str
    amount_base_units: int
    amount_str: str
    reason: str


def balance_of(address: str, code: str, pending: int, mature: int, paid: int) -> Balance:
    d = _decimals(code)
    return Balance(address=address, coin=code, pending_base_units=pending, pending_str=to_decimal(pending, d),
                   mature_base_units=mature, mature_str=to_decimal(mature, d), paid_base_units=paid,
                   paid_str=to_decimal(paid, d))


class BalanceService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def balances(self, address: str) -> list[Balance]:
        """One balance per coin the address has ledger rows in (none: an empty list)."""
        rows = await self._db.rows(_BALANCES, {"a": address})
        return [balance_of(address, str(c), int(p), int(m), int(paid)) for c, p, m, paid in rows]

    async def block(self, hash_: str) -> BlockCredits:
        found = await self._db.rows(_BLOCK, {"h": hash_})
        if not found:
            raise NotFound(f"no block {hash_[:80]!r}")
        height, code, reward, miner, found_ms, state = found[0]
        d = _decimals(str(code))
        lines = [LedgerLine(entry_key=str(k), address=str(a), kind=str(kind), amount_base_units=int(v),
                            amount_str=to_decimal(int(v), d), reason=str(r))
                 for k, a, kind, v, r in await self._db.rows(_CREDITS, {"h": hash_})]
        return BlockCredits(hash=hash_, height=int(height), currency=str(code), status=str(state),
                            found_by=str(miner), found_at=dt.datetime.fromtimestamp(int(found_ms) / 1000, dt.UTC),
                            reward_base_units=int(reward), reward_str=to_decimal(int(reward), d), credits=lines)

    async def adjust(self, request: AdjustmentRequest, actor: str, ip: str) -> Adjustment:
        """Write one `adjustment:<id>` row (signed base units) and its `audit_log` row."""
        address = require_address(request.address)
        try:
            c = coin(request.coin.upper())
            amount = parse_decimal(request.amount, c.decimals)
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"coin": request.coin[:16], "amount": request.amount[:40]}) from exc
        reason = request.reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidRequest("reason is required (1-500 characters)")
        if amount == 0:
            raise InvalidRequest("amount must not be zero")
        if request.id and (len(request.id) > 64 or not request.id.replace("-", "").isalnum()):
            raise InvalidRequest("id must be 1-64 letters, digits or dashes")
        key = f"adjustment:{request.id or uuid.uuid4().hex}"
        now = self._clock.now()
        await self._db.insert(LEDGER_TABLE, [[key, now, c.code, address, "adjustment", amount, "", "",
                                              f"{reason} (by {actor})", now]], LEDGER_COLUMNS)
        out = Adjustment(entry_key=key, address=address, coin=c.code, amount_base_units=amount,
                         amount_str=to_decimal(amount, c.decimals), reason=reason)
        details = msgspec.json.encode(out).decode()
        await self._db.insert("audit_log", [(now, actor, "ledger.adjustment", f"address:{address}", details, ip)],
                              ["ts", "actor", "action", "target", "details", "ip"])
        return out
