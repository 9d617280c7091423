"""The four tax-report formats: exact headers (DOMAIN.md), one row each, date formats, exact amounts and the
half-even fiat rounding."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from fractions import Fraction

import pytest

from schemas.coins import parse_decimal
from schemas.tax_formats import FORMATS, HEADERS, TaxRow, check_format, date_text, fiat_value, record

TS = dt.datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
ROW = TaxRow(ts=TS, coin="BTC", amount=123456789, decimals=8, fiat="JPY", price=Decimal("15000000.5"),
             price_source="coingecko", tx_hash="ab" * 32, block_heights=(840000, 840002),
             row_id="payout:p1:bc1qx")

DOMAIN_HEADERS = {
    "koinly": "Date,Sent Amount,Sent Currency,Received Amount,Received Currency,Fee Amount,Fee Currency,"
              "Net Worth Amount,Net Worth Currency,Label,Description,TxHash",
    "cointracker": "Date,Received Quantity,Received Currency,Sent Quantity,Sent Currency,Fee Amount,Fee Currency,Tag",
    "cointracking": "Type,Buy Amount,Buy Currency,Sell Amount,Sell Currency,Fee,Fee Currency,Exchange,Trade-Group,"
                    "Comment,Date,Tx-ID",
}


@pytest.mark.parametrize("fmt", sorted(DOMAIN_HEADERS))
def test_headers_are_exactly_domain_md(fmt: str) -> None:
    assert ",".join(HEADERS[fmt]) == DOMAIN_HEADERS[fmt]


def test_every_format_has_as_many_columns_as_its_header() -> None:
    for fmt in FORMATS:
        assert len(record(fmt, ROW)) == len(HEADERS[fmt]), fmt


def test_generic_row() -> None:
    got = dict(zip(HEADERS["generic"], record("generic", ROW), strict=True))
    assert got == {"time_utc": "2025-03-04T05:06:07.890Z", "coin": "BTC", "amount": "1.23456789", "fiat": "JPY",
                   "fiat_price": "15000000.5", "price_source": "coingecko", "fiat_value": "18518518.97",
                   "label": "mining", "tx_hash": "ab" * 32, "block_heights": "840000 840002",
                   "row_id": "payout:p1:bc1qx"}


def test_koinly_row() -> None:
    got = dict(zip(HEADERS["koinly"], record("koinly", ROW), strict=True))
    assert got["Date"] == "2025-03-04 05:06 UTC"
    assert (got["Received Amount"], got["Received Currency"], got["Sent Amount"]) == ("1.23456789", "BTC", "")
    assert (got["Net Worth Amount"], got["Net Worth Currency"], got["Label"]) == ("18518518.97", "JPY", "mining")
    assert got["TxHash"] == "ab" * 32 and "840000 840002" in got["Description"]


def test_cointracker_row() -> None:
    assert record("cointracker", ROW) == ("03/04/2025 05:06:07", "1.23456789", "BTC", "", "", "", "", "mined")


def test_cointracking_row() -> None:
    got = dict(zip(HEADERS["cointracking"], record("cointracking", ROW), strict=True))
    assert (got["Type"], got["Buy Amount"], got["Buy Currency"], got["Sell Amount"]) == ("Mining", "1.23456789",
                                                                                         "BTC", "")
    assert (got["Date"], got["Tx-ID"], got["Exchange"]) == ("04.03.2025 05:06:07", "ab" * 32, "poolstream")


def test_a_reversal_is_sent_and_no_price_leaves_value_empty() -> None:
    row = TaxRow(ts=TS, coin="LTC", amount=-5, decimals=8, fiat="USD", price=None, price_source="",
                 tx_hash="", block_heights=(), row_id="reversal:h:a")
    generic = dict(zip(HEADERS["generic"], record("generic", row), strict=True))
    assert (generic["amount"], generic["fiat_price"], generic["fiat_value"]) == ("-0.00000005", "", "")
    assert record("cointracker", row)[1:5] == ("", "", "0.00000005", "LTC")


def test_fiat_value_is_exact_then_half_even() -> None:
    assert fiat_value(1, 0, Decimal("0.125")) == Decimal("0.12")  # half to even: down
    assert fiat_value(1, 0, Decimal("0.135")) == Decimal("0.14")  # half to even: up
    assert fiat_value(10**18, 8, Decimal("99999999999999999999.999999999999999999")) == Decimal(10**30)
    amount, price = 123456789012345678, Decimal("12345678901234567890.123456789012345678")
    exact = Fraction(amount, 10**8) * Fraction(price)  # the oracle: rational arithmetic, then half-even
    cents, rest = divmod(exact * 100, 1)
    expected = cents + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and cents % 2) else 0)
    expected = int(expected)
    assert str(fiat_value(amount, 8, price)) == f"{expected // 100}.{expected % 100:02d}"
    assert fiat_value(1, 8, Decimal("15000000")) == Decimal("0.15")


def test_dates_are_utc_whatever_the_zone_given() -> None:
    tokyo = TS.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert date_text("cointracker", tokyo) == "03/04/2025 05:06:07"
    assert date_text("generic", TS.replace(microsecond=0)) == "2025-03-04T05:06:07.000Z"


def test_csv_amounts_sum_back_to_base_units() -> None:
    rows = [TaxRow(TS, "DOGE", a, 8, "USD", None, "", "", (), f"r{a}") for a in (1, 99999999, 12345678901)]
    out = io.StringIO()
    csv.writer(out).writerows(record("generic", r) for r in rows)
    amounts = [line[2] for line in csv.reader(io.StringIO(out.getvalue()))]
    assert sum(parse_decimal(a, 8) for a in amounts) == 1 + 99999999 + 12345678901


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="generic, koinly, cointracker, cointracking"):
        check_format("turbotax")
