"""The tax-report CSV formats (DOMAIN.md "Tax reporting"): one contract for the API and the CLI.

A report row is one income event of a miner (a payout, or a credit/reversal with `basis=credit`) in base
units; this module turns it into the exact header and columns of each format. Amounts are exact decimal
strings of the base units; the fiat value is amount × price rounded half-even to 2 decimals (an empty
price and value when no price at or before the row's time exists). All times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from schemas.coins import to_decimal

FORMATS = ("generic", "koinly", "cointracker", "cointracking")
BASES = ("payout", "credit")

HEADERS: dict[str, tuple[str, ...]] = {
    "generic": ("time_utc", "coin", "amount", "fiat", "fiat_price", "price_source", "fiat_value", "label",
                "tx_hash", "block_heights", "row_id"),
    "koinly": ("Date", "Sent Amount", "Sent Currency", "Received Amount", "Received Currency", "Fee Amount",
               "Fee Currency", "Net Worth Amount", "Net Worth Currency", "Label", "Description", "TxHash"),
    "cointracker": ("Date", "Received Quantity", "Received Currency", "Sent Quantity", "Sent Currency",
                    "Fee Amount", "Fee Currency", "Tag"),
    "cointracking": ("Type", "Buy Amount", "Buy Currency", "Sell Amount", "Sell Currency", "Fee", "Fee Currency",
                     "Exchange", "Trade-Group", "Comment", "Date", "Tx-ID"),
}

#: strftime of each format's date column (always UTC): Koinly "YYYY-MM-DD HH:MM UTC" as its templates show,
#: CoinTracker MM/DD/YYYY HH:MM:SS, CoinTracking DD.MM.YYYY HH:MM:SS, generic ISO 8601 with a Z.
DATE_FORMATS = {
    "generic": "%Y-%m-%dT%H:%M:%S.%fZ",
    "koinly": "%Y-%m-%d %H:%M UTC",
    "cointracker": "%m/%d/%Y %H:%M:%S",
    "cointracking": "%d.%m.%Y %H:%M:%S",
}

LABEL = "mining"
EXCHANGE = "poolstream"  # CoinTracking's "Exchange": where the income came from
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class TaxRow:
    """One income event. `amount` is in base units (negative for a reversal); `price` is the fiat price of
    one whole coin at or before `ts` (None: no price known), `price_source` where it came from."""

    ts: dt.datetime
    coin: str
    amount: int
    decimals: int
    fiat: str
    price: Decimal | None
    price_source: str
    tx_hash: str
    block_heights: tuple[int, ...]
    row_id: str


def check_format(fmt: str) -> str:
    if fmt not in HEADERS:
        raise ValueError(f"unknown tax-report format {fmt!r}: one of {', '.join(FORMATS)}")
    return fmt


def fiat_value(amount: int, decimals: int, price: Decimal) -> Decimal:
    """amount (base units) × price, exact, then rounded half-even to 2 decimals."""
    with localcontext() as ctx:
        ctx.prec = 80  # enough for Int64 base units × Decimal(38, 18): the product is exact before rounding
        exact = Decimal(amount).scaleb(-decimals) * price
        return exact.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def date_text(fmt: str, ts: dt.datetime) -> str:
    utc = ts.astimezone(dt.UTC) if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
    text = utc.strftime(DATE_FORMATS[check_format(fmt)])
    return text.replace(f".{utc.microsecond:06d}Z", f".{utc.microsecond // 1000:03d}Z") if fmt == "generic" else text


def record(fmt: str, row: TaxRow) -> tuple[str, ...]:
    """The CSV columns of `row` in `fmt`, in HEADERS[fmt] order."""
    amount = to_decimal(row.amount, row.decimals)
    value = "" if row.price is None else str(fiat_value(row.amount, row.decimals, row.price))
    price = "" if row.price is None else _plain(row.price)
    heights = " ".join(str(h) for h in row.block_heights)
    when = date_text(fmt, row.ts)
    note = _description(row, price)
    if fmt == "generic":
        return (when, row.coin, amount, row.fiat, price, row.price_source, value, LABEL, row.tx_hash, heights,
                row.row_id)
    received, sent = (amount, "") if row.amount >= 0 else ("", to_decimal(-row.amount, row.decimals))
    if fmt == "koinly":
        return (when, sent, row.coin if sent else "", received, row.coin if received else "", "", "", value,
                row.fiat if value else "", LABEL, note, row.tx_hash)
    if fmt == "cointracker":
        return (when, received, row.coin if received else "", sent, row.coin if sent else "", "", "", "mined")
    check_format(fmt)
    return ("Mining" if row.amount >= 0 else "Other Expense", received, row.coin if received else "", sent,
            row.coin if sent else "", "", "", EXCHANGE, "", note, when, row.tx_hash)


def _description(row: TaxRow, price: str) -> str:
    parts = [f"poolstream {row.row_id}"]
    if row.block_heights:
        parts.append("blocks " + " ".join(str(h) for h in row.block_heights))
    if price:
        parts.append(f"price {price} {row.fiat} ({row.price_source})")
    return "; ".join(parts)


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: Decimal('15000000.500000000000000000') -> '15000000.5'."""
    text = format(value.normalize(), "f")
    return text
