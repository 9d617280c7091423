"""Blocks found by the pool (/blocks, and `blocks_found` / `last_block` of /stats) from the `blocks` table.

The table keeps one row per (hash, status) event; a block's current state is its newest event
(`argMax(..., updated_at)`), its `found_at` the time of its first event. Rewards are integers in the coin's
base unit; the API gives them exactly (`reward_base_units`, `reward_str`) and, as seed 001 shows, as a number
of coins (`reward`, a float: for display only).
"""

from __future__ import annotations

import re
from decimal import Decimal

from api.dto.blocks import BlockInfo
from api.dto.common import seed_name
from api.dto.pool import LastBlock
from api.errors import InvalidRequest
from api.services.db import Db
from api.services.windows import from_ms

#: Decimal places of a coin's base unit (satoshi, litoshi, koinu). Unknown coins: 8.
COIN_DECIMALS: dict[str, int] = {"BTC": 8, "LTC": 8, "DOGE": 8}
_CURRENCY = re.compile(r"[A-Za-z0-9]{1,16}")

_LATEST = (
    "SELECT hash, argMax(height, updated_at), argMax(coin, updated_at), argMax(reward, updated_at), "
    "argMax(miner, updated_at), argMax(worker, updated_at), argMax(algorithm, updated_at), "
    "toUnixTimestamp64Milli(min(ts)) AS found_ms, argMax(status, updated_at) AS state "
    "FROM blocks {where} GROUP BY hash {having} ORDER BY found_ms DESC, hash LIMIT {{limit:UInt32}}"
)
_FOUND = "SELECT count() FROM (SELECT argMax(status, updated_at) AS state FROM blocks GROUP BY hash) WHERE state != 'orphaned'"


def coin_amount(base_units: int, coin: str) -> tuple[float, str]:
    """`base_units` of `coin` as a float number of coins and as an exact decimal string (e.g. "6.25000000")."""
    exact = Decimal(base_units).scaleb(-COIN_DECIMALS.get(coin.upper(), 8))
    return float(exact), f"{exact:f}"


def require_currency(currency: str | None) -> str | None:
    if currency is None or currency == "":
        return None
    if not _CURRENCY.fullmatch(currency):
        raise InvalidRequest("currency must be 1-16 ASCII letters or digits, e.g. BTC", details={"currency": currency[:40]})
    return currency.upper()


class BlockService:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def recent(self, *, currency: str | None = None, limit: int = 50, found_only: bool = False) -> list[BlockInfo]:
        """The newest `limit` blocks (of `currency`), newest first; `found_only` leaves orphaned ones out."""
        coin = require_currency(currency)
        sql = _LATEST.format(
            where="WHERE coin = {coin:String}" if coin else "",
            having="HAVING state != 'orphaned'" if found_only else "",
        )
        params: dict[str, object] = {"limit": limit, **({"coin": coin} if coin else {})}
        out = []
        for hash_, height, coin_, reward, miner, worker, algorithm, found_ms, state in await self._db.rows(sql, params):
            amount, exact = coin_amount(int(reward), str(coin_))
            out.append(BlockInfo(
                height=int(height), hash=str(hash_), currency=str(coin_), reward=amount, found_by=str(miner),
                found_at=from_ms(int(found_ms)), confirmations=0, status=str(state), reward_base_units=int(reward),
                reward_str=exact, algorithm=seed_name(str(algorithm)), worker=str(worker),
            ))
        return out

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
