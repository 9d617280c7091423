"""The tax report of one or more addresses for one calendar year (UTC), from the ledger (migration 0011).

basis `payout` (default): every `payout` row (the amount sent; ledger amounts are negative, the report shows
them positive); the block heights of a payout are those of the address's credits since its previous payout
on that coin. basis `credit`: every `credit` row (positive) and `reversal` row (negative, its orphaned block).
Row id = the ledger's entry_key (stable, unique). The amounts of a report sum back to the ledger to the base
unit. Prices: the newest point at or before the row's time (api.services.prices). A payout row's transaction
hash comes from the `payouts` table (migration 0014) by the ledger row's payout_id (credits have none).
Synchronous on a clickhouse-connect client: the API runs it in a worker thread, the CLI directly.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from api.services.prices import PriceSeries, load_series
from schemas.coins import coin as coin_of
from schemas.tax_formats import BASES, HEADERS, TaxRow, check_format, record

KINDS = {"payout": ("payout",), "credit": ("credit", "reversal")}
_ROWS = (
    "SELECT entry_key, ts, coin, address, kind, amount, block_hash, payout_id FROM ledger FINAL "
    "WHERE address IN {addresses:Array(String)} AND kind IN {kinds:Array(String)} "
    "AND ts >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC') "
    "ORDER BY ts, entry_key"
)
# For payout heights: the credits and payouts of the addresses up to the end of the year.
_HISTORY = (
    "SELECT entry_key, ts, coin, address, kind, block_hash FROM ledger FINAL WHERE address IN {addresses:Array(String)} "
    "AND kind IN ('credit', 'payout') AND ts < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC') "
    "ORDER BY ts, kind = 'payout', entry_key"
)
_HEIGHTS = "SELECT hash, max(height) FROM blocks WHERE hash IN {hashes:Array(String)} GROUP BY hash"
_TX = "SELECT payout_id, tx_hash FROM payouts FINAL WHERE payout_id IN {ids:Array(String)}"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ReportQuery:
    addresses: tuple[str, ...]
    year: int
    fmt: str = "generic"
    fiat: str = "USD"
    basis: str = "payout"

    def __post_init__(self) -> None:
        check_format(self.fmt)
        if self.basis not in BASES:
            raise ValueError(f"unknown basis {self.basis!r}: one of {', '.join(BASES)}")
        if not 2009 <= self.year <= 9999:
            raise ValueError(f"year must be in [2009, 9999], got {self.year}")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 1, 1, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime(self.year + 1, 1, 1, tzinfo=dt.UTC)


def report_rows(client: Client, query: ReportQuery) -> list[TaxRow]:
    """The report's rows, oldest first."""
    params = {"addresses": list(query.addresses), "kinds": list(KINDS[query.basis]),
              "start_ms": _ms(query.start), "end_ms": _ms(query.end)}
    found = client.query(_ROWS, parameters=params).result_rows
    if not found:
        return []
    blocks_of = _payout_blocks(client, query) if query.basis == "payout" else {}
    hashes = {str(r[6]) for r in found if r[6]} | {h for hs in blocks_of.values() for h in hs}
    heights = _heights(client, sorted(hashes))
    ids = sorted({str(r[7]) for r in found if r[7]})
    tx_of = {str(p): str(t) for p, t in client.query(_TX, parameters={"ids": ids}).result_rows} if ids else {}
    series: dict[str, PriceSeries] = {}
    rows = []
    for key, ts, coin, _address, kind, amount, block_hash, payout_ref in found:
        coin = str(coin)
        if coin not in series:
            series[coin] = load_series(client, coin, query.fiat, query.start, query.end)
        at = series[coin].at(ts)
        hashes_of = blocks_of.get(str(key), ()) if kind == "payout" else ((str(block_hash),) if block_hash else ())
        rows.append(TaxRow(
            ts=ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC), coin=coin,
            amount=-int(amount) if kind == "payout" else int(amount), decimals=coin_of(coin).decimals,
            fiat=query.fiat, price=None if at is None else at[0], price_source="" if at is None else at[1],
            tx_hash=tx_of.get(str(payout_ref), ""), block_heights=tuple(sorted({heights[h] for h in hashes_of if h in heights})),
            row_id=str(key)))
    return rows


def csv_lines(fmt: str, rows: Sequence[TaxRow], progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The CSV text of `rows` in `fmt`, one line at a time (header first; RFC 4180 quoting, \\r\\n)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(HEADERS[check_format(fmt)])
    for i, row in enumerate(rows, 1):
        yield line(record(fmt, row))
        if progress is not None and i % 1000 == 0:
            progress(i)


class TaxReportService:
    """The API's side: the report built in a worker thread (chDB releases the GIL while it works)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def lines(self, query: ReportQuery) -> list[str]:
        rows = await asyncio.to_thread(report_rows, self._client, query)
        return list(csv_lines(query.fmt, rows))


def _payout_blocks(client: Client, query: ReportQuery) -> dict[str, tuple[str, ...]]:
    """payout entry_key -> the block hashes credited to its address and coin since the previous payout."""
    params = {"addresses": list(query.addresses), "end_ms": _ms(query.end)}
    rows = client.query(_HISTORY, parameters=params).result_rows
    pending: dict[tuple[str, str], list[str]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for key, _ts, coin, address, kind, block_hash in rows:
        bucket = pending.setdefault((str(coin), str(address)), [])
        if kind == "credit":
            if block_hash:
                bucket.append(str(block_hash))
        else:
            out[str(key)] = tuple(bucket)
            bucket.clear()
    return out


def _heights(client: Client, hashes: list[str]) -> dict[str, int]:
    if not hashes:
        return {}
    rows = client.query(_HEIGHTS, parameters={"hashes": hashes}).result_rows
    return {str(h): int(height) for h, height in rows}


def _ms(ts: dt.datetime) -> int:
    return (ts - _EPOCH) // dt.timedelta(milliseconds=1)
