"""Prices on a real chDB: POST /api/v1/prices (system role) stores exact decimals, a re-sent point replaces
the earlier one, bad rows are one INVALID_REQUEST naming the row; the price at t is the newest at or before t."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client

from api.services.prices import PricePoint, insert_prices, load_series, price_at
from tests.integration.test_api_workers import Api, make_api
from tests.support_auth import auth_headers, create_user_key

pytestmark = pytest.mark.integration

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture()
def api(clickhouse: Client) -> Iterator[Api]:
    for made in make_api(clickhouse):
        made.keys["system"] = auth_headers(create_user_key(clickhouse, "system", username="feeder"))
        yield made


def test_post_prices_and_read_them_back(api: Api) -> None:
    batch = [{"coin": "btc", "fiat": "JPY", "ts": "2025-01-01T00:00:00Z", "price": "15000000.123456789012345678",
              "source": "coingecko"},
             {"coin": "BTC", "fiat": "JPY", "ts": "2025-01-02T00:00:00Z", "price": "15100000", "source": "kraken"}]
    assert api.call("POST", "/prices", "system", json=batch, expect=201) == {"stored": 2}
    api.call("POST", "/prices", "admin", json=batch, expect=403)

    at = api.call("GET", "/prices/at", "reader", params={"coin": "BTC", "fiat": "jpy", "at": "2025-01-01T23:59:59Z"})
    assert (at["price"], at["source"]) == ("15000000.123456789012345678", "coingecko")
    at = api.call("GET", "/prices/at", "reader", params={"coin": "BTC", "fiat": "JPY", "at": "2025-01-02T00:00:00Z"})
    assert (at["price"], at["source"]) == ("15100000", "kraken")  # at t itself: that point
    api.call("GET", "/prices/at", "reader", params={"coin": "BTC", "fiat": "JPY", "at": "2024-12-31T23:59:59Z"},
             expect=404)

    # the same (coin, fiat, ts) again replaces it
    api.call("POST", "/prices", "system", json=[{**batch[1], "price": "15200000.5", "source": "fixed"}], expect=201)
    at = api.call("GET", "/prices/at", "reader", params={"coin": "BTC", "fiat": "JPY", "at": "2025-06-01T00:00:00Z"})
    assert (at["price"], at["source"]) == ("15200000.5", "fixed")


@pytest.mark.parametrize("bad", [{"price": 1.5}, {"price": "1e5"}, {"price": "-1"}, {"price": "1.0000000000000000001"},
                                 {"coin": "B"}, {"source": ""}, {"extra": 1}])
def test_bad_prices_are_refused_naming_the_row(api: Api, bad: dict[str, object]) -> None:
    good = {"coin": "LTC", "fiat": "USD", "ts": "2025-01-01T00:00:00Z", "price": "80", "source": "x"}
    error = api.call("POST", "/prices", "system", json=[good, {**good, **bad}], expect=400)
    assert error["code"] == "INVALID_REQUEST"
    assert api.clickhouse.query("SELECT count() FROM prices").result_rows == [(0,)]


def test_series_lookup_is_the_newest_at_or_before(clickhouse: Client) -> None:
    points = [PricePoint("DOGE", "EUR", T0 + dt.timedelta(hours=h), Decimal(f"0.{h + 1:02d}"), f"s{h}")
              for h in (0, 5, 10)]
    insert_prices(clickhouse, points, T0)
    series = load_series(clickhouse, "DOGE", "EUR", T0 + dt.timedelta(hours=6), T0 + dt.timedelta(hours=11))
    assert len(series) == 2  # the one before the start, and the one inside
    assert series.at(T0 + dt.timedelta(hours=7)) == (Decimal("0.06"), "s5")
    assert series.at(T0 + dt.timedelta(hours=10)) == (Decimal("0.11"), "s10")
    assert price_at(clickhouse, "DOGE", "EUR", T0 - dt.timedelta(seconds=1)) is None
    assert price_at(clickhouse, "DOGE", "EUR", T0 + dt.timedelta(hours=4, minutes=59)) == (Decimal("0.01"), "s0")
    assert price_at(clickhouse, "DOGE", "USD", T0 + dt.timedelta(hours=7)) is None
