"""Fiat price series (table `prices`, migration 0013): validation, batch insert and the price at a time.

The price at time t is the newest point at or before t for (coin, fiat), with its source; before the first
point there is none. Prices are exact decimals (at most 20 integer and 18 fractional digits), never floats.
The functions take a clickhouse-connect client and are synchronous, so the API (in a worker thread) and the
CLI (`poolstream prices import`) share them.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from clickhouse_connect.driver.client import Client

from schemas.clock import Clock

COLUMNS = ["coin", "fiat", "ts", "price", "source", "created_at"]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CODE = re.compile(r"^[A-Z0-9]{2,10}$")
_PRICE = re.compile(r"^\d{1,20}(\.\d{1,18})?$")
_SERIES = (
    "SELECT ts, price, source FROM prices FINAL WHERE coin = {coin:String} AND fiat = {fiat:String} "
    "AND ts >= ({before} ) AND ts < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC') ORDER BY ts"
)
# The newest point at or before the start (or the epoch when there is none): the series starts there.
_BEFORE = (
    "SELECT ifNull(max(ts), toDateTime64(0, 3, 'UTC')) FROM prices FINAL WHERE coin = {coin:String} "
    "AND fiat = {fiat:String} AND ts <= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')"
)


@dataclass(frozen=True)
class PricePoint:
    coin: str
    fiat: str
    ts: dt.datetime
    price: Decimal
    source: str


def code(text: str, what: str) -> str:
    """A coin or fiat code: 2–10 letters or digits, upper-cased ('jpy' -> 'JPY'); ValueError naming `what`."""
    value = text.strip().upper()
    if not _CODE.match(value):
        raise ValueError(f"{what} must be 2-10 letters or digits, got {text!r}")
    return value


def parse_price(text: str) -> Decimal:
    """An exact non-negative decimal string ('15000000.5'); ValueError for anything else (floats, exponents)."""
    value = text.strip()
    if not _PRICE.match(value):
        raise ValueError(f"price must be a decimal string like 15000000.25 (at most 20 integer and 18 fractional "
                         f"digits), got {text!r}")
    return Decimal(value)


def utc(ts: dt.datetime) -> dt.datetime:
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def point(coin: str, fiat: str, ts: dt.datetime, price: str, source: str) -> PricePoint:
    """A validated price point; ValueError naming the bad field."""
    if not source.strip() or len(source) > 200:
        raise ValueError("source must be 1-200 characters (where the price comes from, e.g. coingecko)")
    return PricePoint(code(coin, "coin"), code(fiat, "fiat"), utc(ts), parse_price(price), source.strip())


def insert_prices(client: Client, points: Sequence[PricePoint], now: dt.datetime) -> int:
    """Store `points` (a re-sent (coin, fiat, ts) replaces the earlier one); returns how many."""
    if points:
        client.insert("prices", [(p.coin, p.fiat, p.ts, p.price, p.source, now) for p in points], column_names=COLUMNS)
    return len(points)


class PriceSeries:
    """The points of one (coin, fiat) from the last one at or before a start on: `at(t)` is a bisection."""

    def __init__(self, rows: Iterable[Sequence[object]]) -> None:
        points = [(utc(ts), price, str(source)) for ts, price, source in rows
                  if isinstance(ts, dt.datetime) and isinstance(price, Decimal)]
        self._ts = [p[0] for p in points]
        self._points = points

    def at(self, ts: dt.datetime) -> tuple[Decimal, str] | None:
        i = bisect.bisect_right(self._ts, utc(ts))
        if i == 0:
            return None
        _, price, source = self._points[i - 1]
        return price, source

    def __len__(self) -> int:
        return len(self._points)


def load_series(client: Client, coin: str, fiat: str, start: dt.datetime, end: dt.datetime) -> PriceSeries:
    """The series answering `at(t)` for every start <= t < end."""
    params = {"coin": coin, "fiat": fiat, "start_ms": _ms(start), "end_ms": _ms(end)}
    sql = _SERIES.replace("{before}", _BEFORE)
    return PriceSeries(client.query(sql, parameters=params).result_rows)


def price_at(client: Client, coin: str, fiat: str, ts: dt.datetime) -> tuple[Decimal, str] | None:
    """The price of one `coin` in `fiat` at `ts` (the newest at or before it) and its source, or None."""
    return load_series(client, coin, fiat, ts, ts + dt.timedelta(milliseconds=1)).at(ts)


def _ms(ts: dt.datetime) -> int:
    return (utc(ts) - _EPOCH) // dt.timedelta(milliseconds=1)


class PriceService:
    """The API's side: the same functions in a worker thread (chDB releases the GIL while it works)."""

    def __init__(self, client: Client, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    async def add(self, points: Sequence[PricePoint]) -> int:
        return await asyncio.to_thread(insert_prices, self._client, points, self._clock.now())

    async def at(self, coin: str, fiat: str, ts: dt.datetime) -> tuple[Decimal, str] | None:
        return await asyncio.to_thread(price_at, self._client, coin, fiat, ts)
