"""A miner's daily earnings from the ledger: per UTC day and coin, the base units credited (block credits net
of their reversals, and PPS / FPPS credits), with the exact decimal string beside them."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.errors import InvalidRequest
from api.services.db import Db
from schemas.clock import Clock
from schemas.coins import coin, to_decimal

MAX_DAYS = 366
_EARNINGS = (
    "SELECT toDate(ts, 'UTC') AS day, coin, sum(amount) FROM ledger FINAL "
    "WHERE address = {a:String} AND kind IN ('credit', 'reversal') AND ts >= fromUnixTimestamp64Milli({since:Int64}) "
    "GROUP BY day, coin ORDER BY day, coin"
)


class DailyEarning(msgspec.Struct, frozen=True, kw_only=True):
    day: dt.date  # UTC
    coin: str
    credited_base_units: int
    credited_str: str


def _decimals(code: str) -> int:
    try:
        return coin(code).decimals
    except ValueError:
        return 8


class EarningsService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def daily(self, address: str, days: int) -> list[DailyEarning]:
        """The last `days` UTC days (today included), oldest first; days without ledger rows are left out."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidRequest(f"days must be in 1..{MAX_DAYS}", details={"days": days})
        today = self._clock.now().astimezone(dt.UTC).date()
        start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), dt.UTC)
        rows = await self._db.rows(_EARNINGS, {"a": address, "since": int(start.timestamp() * 1000)})
        return [DailyEarning(day=day, coin=str(c), credited_base_units=int(v),
                             credited_str=to_decimal(int(v), _decimals(str(c))))
                for day, c, v in rows if int(v) != 0]
