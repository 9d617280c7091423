"""The tax report on a real chDB from ledger rows inserted directly: the CSV amounts sum back to the ledger to
the base unit (payout and credit basis), prices and block heights are joined, the four formats have their
headers, and only the owner of the address's participant (or an admin) may read it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client

from api.services.prices import PricePoint, insert_prices
from schemas.coins import parse_decimal
from schemas.tax_formats import FORMATS, HEADERS
from tests.integration.test_api_workers import ALICE_WALLET, BOB_WALLET, Api, make_api, participant

pytestmark = pytest.mark.integration

LEDGER = ["entry_key", "ts", "coin", "address", "kind", "amount", "block_hash", "payout_id", "reason", "created_at"]
BLOCKS = ["hash", "height", "ts", "algorithm", "coin", "miner", "worker", "reward", "network_difficulty",
          "share_difficulty", "status", "job_id", "header_hex", "updated_at"]


def at(month: int, day: int, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


def seed(clickhouse: Client) -> None:
    def entry(key: str, ts: dt.datetime, kind: str, amount: int, block: str = "", payout: str = "",
              address: str = ALICE_WALLET) -> list[object]:
        return [key, ts, "BTC", address, kind, amount, block, payout, kind, ts]

    rows = [
        entry("credit:h0:a", at(12, 1, 2024), "credit", 7, "h0"),
        entry("payout:p0:a", at(12, 2, 2024), "payout", -7, payout="p0"),  # last year
        entry("credit:h1:a", at(1, 5), "credit", 150_000_001, "h1"),
        entry("credit:h2:a", at(1, 6), "credit", 49_999_999, "h2"),
        entry("payout:p1:a", at(2, 1), "payout", -200_000_000, payout="p1"),
        entry("credit:h3:a", at(3, 1), "credit", 12_345, "h3"),
        entry("reversal:h3:a", at(3, 2), "reversal", -12_345, "h3"),
        entry("credit:h4:a", at(4, 1), "credit", 33_333_333, "h4"),
        entry("payout:p2:a", at(5, 1), "payout", -33_333_333, payout="p2"),
        entry("payout:p3:b", at(5, 1), "payout", -99, payout="p3", address=BOB_WALLET),  # someone else
        entry("payout:p4:a", at(1, 1, 2026), "payout", -1, payout="p4"),  # next year
    ]
    clickhouse.insert("ledger", rows, column_names=LEDGER)
    clickhouse.insert("ledger", rows[4:5], column_names=LEDGER)  # a replayed row collapses (FINAL)
    clickhouse.insert("blocks", [[h, height, at(1, 1), "sha256d", "BTC", ALICE_WALLET, "rig", 1, 1.0, 1.0,
                                  "confirmed", "", "", at(1, 1)]
                                 for h, height in (("h1", 100), ("h2", 101), ("h3", 102), ("h4", 103))],
                      column_names=BLOCKS)
    insert_prices(clickhouse, [PricePoint("BTC", "JPY", at(1, 1), Decimal("15000000"), "coingecko"),
                               PricePoint("BTC", "JPY", at(4, 15), Decimal("14000000.25"), "kraken")], at(1, 1))


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    for made in make_api(clickhouse):
        seed(clickhouse)
        yield made


def report(api: Api, who: str = "alice", expect: int = 200, **params: object) -> list[dict[str, str]]:
    response = api.client.get("/api/v1/payouts/export/tax-report", params={"year": 2025, **params},
                              headers=api.keys[who])
    assert response.status_code == expect, response.text
    if expect != 200:
        return []
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def ledger_sum(api: Api, kinds: tuple[str, ...]) -> int:
    [(total,)] = api.clickhouse.query(
        "SELECT sum(amount) FROM ledger FINAL WHERE address = {a:String} AND kind IN {k:Array(String)} "
        "AND toYear(ts) = 2025", parameters={"a": ALICE_WALLET, "k": list(kinds)}).result_rows
    return int(total)


def test_payout_basis_reconciles_with_prices_and_heights(api: Api) -> None:
    participant(api)
    rows = report(api, address=ALICE_WALLET, fiat="jpy")
    assert [r["row_id"] for r in rows] == ["payout:p1:a", "payout:p2:a"]
    assert sum(parse_decimal(r["amount"], 8) for r in rows) == -ledger_sum(api, ("payout",)) == 233_333_333
    p1, p2 = rows
    assert (p1["amount"], p1["fiat_price"], p1["price_source"], p1["fiat_value"]) == \
        ("2.00000000", "15000000", "coingecko", "30000000.00")
    assert (p1["block_heights"], p2["block_heights"]) == ("100 101", "102 103")  # blocks credited since the last
    assert (p2["fiat_price"], p2["fiat_value"], p2["label"], p2["tx_hash"]) == ("14000000.25", "4666666.70",
                                                                               "mining", "")
    assert p1["time_utc"] == "2025-02-01T12:00:00.000Z"


def test_credit_basis_reconciles(api: Api) -> None:
    rows = report(api, "admin", address=ALICE_WALLET, basis="credit", fiat="USD")
    assert sum(parse_decimal(r["amount"], 8) for r in rows) == ledger_sum(api, ("credit", "reversal"))
    assert [r["amount"] for r in rows if r["row_id"].startswith("reversal")] == ["-0.00012345"]
    assert {r["fiat_value"] for r in rows} == {""}  # no USD price: empty, never a guess
    assert [r["block_heights"] for r in rows] == ["100", "101", "102", "102", "103"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_its_header(api: Api, fmt: str) -> None:
    pid = participant(api)
    response = api.client.get("/api/v1/payouts/export/tax-report", headers=api.keys["alice"],
                              params={"participant_id": pid, "year": 2025, "format": fmt, "fiat": "JPY"})
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0] == ",".join(HEADERS[fmt]) and len(lines) == 3


def test_only_the_owner_or_an_admin(api: Api) -> None:
    pid = participant(api)
    report(api, "bob", 404, address=ALICE_WALLET)
    report(api, "bob", 404, participant_id=pid)
    report(api, "reader", 404, address=ALICE_WALLET)
    assert len(report(api, "admin", participant_id=pid)) == 2
    report(api, "alice", 400, address=ALICE_WALLET, format="turbotax")
    report(api, "alice", 400, address=ALICE_WALLET, participant_id=pid)
    report(api, "alice", 400, address=ALICE_WALLET, basis="accrual")
    assert api.client.get("/api/v1/payouts/export/tax-report", params={"year": 2025}).status_code == 401
