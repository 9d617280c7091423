"""Blocks found by the pool (/blocks, and `blocks_found` / `last_block` of /stats) from the `blocks` table, and
the blocks one miner shared in (/miners/{address}/blocks: found by it, or credited to it by the ledger).

The table keeps one row per (hash, status) event; a block's current state is its newest event
(`argMax(..., updated_at)`), its `found_at` the time of its first event. Rewards are integers in the coin's
base unit; the API gives them exactly (`reward_base_units`, `reward_str`) and, as seed 001 shows, as a number
of coins (`reward`, a float: for display only).
"""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec

from api.dto.blocks import BlockInfo, MinerBlock
from api.dto.common import seed_name
from api.dto.pool import LastBlock
from api.envelope import Paging
from api.errors import InvalidRequest
from api.services.db import Db
from api.services.windows import from_ms
from api.validation import require_address
from schemas.coins import DEFAULT_COINS

#: Decimal places of a coin's base unit (satoshi, litoshi, koinu). Unknown coins: 8.
_CURRENCY = re.compile(r"[A-Za-z0-9]{1,16}")

_LATEST = (
    "SELECT hash, argMax(height, updated_at), argMax(coin, updated_at), argMax(reward, updated_at), "
    "argMax(miner, updated_at), argMax(worker, updated_at), argMax(algorithm, updated_at), "
    "toUnixTimestamp64Milli(min(ts)) AS found_ms, argMax(status, updated_at) AS state, "
    "argMax(confirmations, updated_at), argMax(network_difficulty, updated_at) "
    "FROM blocks {where} GROUP BY hash {having} ORDER BY found_ms DESC, hash "
    "LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}"
)
_COUNT = "SELECT count() FROM (SELECT argMax(status, updated_at) AS state FROM blocks {where} GROUP BY hash {having})"
#: Every block's (algorithm, found time): the previous block of a block's algorithm starts its effort round.
_ROUNDS = ("SELECT argMax(algorithm, updated_at) AS a, toUnixTimestamp64Milli(min(ts)) AS t FROM blocks "
           "GROUP BY hash HAVING has({algorithms:Array(String)}, a)")
#: Block statuses the `status` filter takes; `pending` is a block found and not yet confirmed or orphaned.
STATUSES = {"found": "found", "pending": "found", "confirmed": "confirmed", "orphaned": "orphaned"}
#: A miner's blocks: those it found, and those whose reward the credits job split to it (`credit:<hash>:<address>`
#: ledger rows: the PPLNS window; fee recipients' `fee:` rows and PPS credits, which have no block, are not).
_SHARED_IN = ("WHERE miner = {a:String} OR hash IN (SELECT block_hash FROM ledger FINAL WHERE address = {a:String} "
              "AND kind = 'credit' AND startsWith(entry_key, 'credit:') AND block_hash != '')")
_CREDITS = ("SELECT block_hash, sum(amount) FROM ledger FINAL WHERE address = {a:String} AND kind = 'credit' "
            "AND startsWith(entry_key, 'credit:') AND block_hash IN {hashes:Array(String)} GROUP BY block_hash")
_FOUND = "SELECT count() FROM (SELECT argMax(status, updated_at) AS state FROM blocks GROUP BY hash) WHERE state != 'orphaned'"


def coin_amount(base_units: int, coin: str) -> tuple[float, str]:
    """`base_units` of `coin` as a float number of coins and as an exact decimal string (e.g. "6.25000000")."""
    known = DEFAULT_COINS.get(coin.upper())  # the one coin table (schemas/coins.py); 8 for an unknown code
    exact = Decimal(base_units).scaleb(-(known.decimals if known else 8))
    return float(exact), f"{exact:f}"


def require_currency(currency: str | None) -> str | None:
    if currency is None or currency == "":
        return None
    if not _CURRENCY.fullmatch(currency):
        raise InvalidRequest("currency must be 1-16 ASCII letters or digits, e.g. BTC", details={"currency": currency[:40]})
    return currency.upper()


def require_status(status: str | None) -> str | None:
    if status is None or status == "":
        return None
    if status.lower() not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", details={"status": status[:40]})
    return STATUSES[status.lower()]


def _where(coin: str | None) -> str:
    return "WHERE coin = {coin:String}" if coin else ""


def _coin_param(coin: str | None) -> dict[str, object]:
    return {"coin": coin} if coin else {}


def _with_credit(block: BlockInfo, credit: int | None) -> MinerBlock:
    """`block` with the miner's credit of it (None: not settled, or no part of its PPLNS window)."""
    share = None if credit is None or block.reward_base_units <= 0 else round(credit / block.reward_base_units, 8)
    return MinerBlock(**msgspec.structs.asdict(block), credited=credit is not None, credit_base_units=credit or 0,
                      credit_str=coin_amount(credit or 0, block.currency)[1], share=share)


def _effort_sql(count: int) -> str:
    """One scan of the accepted shares summing each block's round: (previous block of its algorithm, block]."""
    sums = ", ".join(f"sumIf(difficulty, algorithm = {{a{i}:String}} AND ts > fromUnixTimestamp64Milli({{lo{i}:Int64}}) "
                     f"AND ts <= fromUnixTimestamp64Milli({{hi{i}:Int64}}))" for i in range(count))
    return (f"SELECT {sums} FROM shares WHERE status = 'accepted' "
            "AND ts > fromUnixTimestamp64Milli({lo:Int64}) AND ts <= fromUnixTimestamp64Milli({hi:Int64})")


class BlockService:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def recent(self, *, currency: str | None = None, limit: int = 50, found_only: bool = False) -> list[BlockInfo]:
        """The newest `limit` blocks (of `currency`), newest first; `found_only` leaves orphaned ones out."""
        having = "HAVING state != 'orphaned'" if found_only else ""
        coin = require_currency(currency)
        return await self._read(_where(coin), having, _coin_param(coin), limit, 0, effort=False)

    async def page(self, *, currency: str | None = None, status: str | None = None,
                   paging: Paging | None = None) -> tuple[list[BlockInfo], int]:
        """One page of blocks (of `currency`, in current `status`), newest first, with their effort; and the
        number of such blocks."""
        coin, state, paging = require_currency(currency), require_status(status), paging or Paging()
        having = "HAVING state = {state:String}" if state else ""
        params: dict[str, object] = {"state": state} if state else {}
        params |= _coin_param(coin)
        total = await self._db.rows(_COUNT.format(where=_where(coin), having=having), params)
        items = await self._read(_where(coin), having, params, paging.limit, paging.offset, effort=True)
        return items, int(total[0][0])

    async def shared_in(self, address: str, paging: Paging | None = None) -> tuple[list[MinerBlock], int]:
        """One page of the blocks `address` found or was credited a part of, newest first, with their effort
        and the miner's credit; and the number of such blocks. A block found by another miner appears once
        the credits job settled it (every `CREDITS_INTERVAL_S`, when its shares are durable)."""
        a, paging = require_address(address), paging or Paging()
        total = await self._db.rows(_COUNT.format(where=_SHARED_IN, having=""), {"a": a})
        blocks = await self._read(_SHARED_IN, "", {"a": a}, paging.limit, paging.offset, effort=True)
        rows = await self._db.rows(_CREDITS, {"a": a, "hashes": [b.hash for b in blocks]}) if blocks else []
        credits = {str(h): int(v) for h, v in rows}
        return [_with_credit(b, credits.get(b.hash)) for b in blocks], int(total[0][0])

    async def _read(self, where: str, having: str, params: dict[str, object], limit: int, offset: int, *,
                    effort: bool) -> list[BlockInfo]:
        sql = _LATEST.format(where=where, having=having)
        params = {**params, "limit": limit, "offset": offset}
        rows = await self._db.rows(sql, params)
        efforts = await self._efforts([(str(r[6]), int(r[7]), float(r[10])) for r in rows]) if effort and rows else {}
        out = []
        for k, (hash_, height, coin_, reward, miner, worker, algorithm, found_ms, state, confirmations, _nd) in enumerate(rows):
            amount, exact = coin_amount(int(reward), str(coin_))
            out.append(BlockInfo(
                height=int(height), hash=str(hash_), currency=str(coin_), reward=amount, found_by=str(miner),
                found_at=from_ms(int(found_ms)), confirmations=int(confirmations), status=str(state),
                reward_base_units=int(reward), reward_str=exact, algorithm=seed_name(str(algorithm)), worker=str(worker),
                effort=efforts.get(k),
            ))
        return out

    async def _efforts(self, blocks: list[tuple[str, int, float]]) -> dict[int, float]:
        """Block index -> Σ accepted share difficulty of its algorithm since the previous block / its network
        difficulty (1.0 = exactly the expected work; a block without a network difficulty has none)."""
        algorithms = sorted({a for a, _, _ in blocks})
        found: dict[str, list[int]] = {a: [] for a in algorithms}
        for a, t in await self._db.rows(_ROUNDS, {"algorithms": algorithms}):
            found[str(a)].append(int(t))
        params: dict[str, object] = {}
        lows = []
        for i, (a, t, _) in enumerate(blocks):
            lows.append(max((x for x in found[a] if x < t), default=0))
            params |= {f"a{i}": a, f"lo{i}": lows[-1], f"hi{i}": t}
        params |= {"lo": min(lows), "hi": max(t for _, t, _ in blocks)}
        sums = (await self._db.rows(_effort_sql(len(blocks)), params))[0]
        return {i: round(float(sums[i]) / nd, 6) for i, (_, _, nd) in enumerate(blocks) if nd > 0}

    async def summary(self) -> tuple[int, LastBlock | None]:
        """Blocks found and not orphaned, and the newest of them."""
        found = await self._db.rows(_FOUND, {})
        newest = await self.recent(limit=1, found_only=True)
        last = None
        if newest:
            b = newest[0]
            last = LastBlock(height=b.height, hash=b.hash, found_at=b.found_at, reward=b.reward,
                             reward_base_units=b.reward_base_units, reward_str=b.reward_str, currency=b.currency)
        return int(found[0][0]), last
