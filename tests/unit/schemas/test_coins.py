"""The coin table, its settings, and exact decimal conversion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poolstream.settings import load
from schemas.algorithms import Algorithm
from schemas.coins import DEFAULT_COINS, SCHEMES, Coin, CoinSettings, coin, parse_decimal, to_decimal
from schemas.config import SettingsError


def test_default_table() -> None:
    assert coin("BTC").algorithm is Algorithm.SHA256D
    assert coin("ltc").algorithm is coin("DOGE").algorithm is Algorithm.SCRYPT
    assert [c.decimals for c in DEFAULT_COINS.values()] == [8, 8, 8]
    assert (coin("BTC").maturity, coin("LTC").maturity, coin("DOGE").maturity) == (101, 101, 241)
    assert all(c.scheme in SCHEMES and isinstance(c.payout_minimum, int) for c in DEFAULT_COINS.values())


def test_unknown_coin_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="BTC, LTC, DOGE"):
        coin("XMR")
    with pytest.raises(ValueError, match="known"):
        CoinSettings().coin("ETH")


def test_to_decimal_examples() -> None:
    assert to_decimal(123456789, 8) == "1.23456789"
    assert to_decimal(1, 8) == "0.00000001"
    assert to_decimal(-150_000_000, 8) == "-1.50000000"
    assert to_decimal(0, 8) == "0.00000000"
    assert to_decimal(42, 0) == "42"
    with pytest.raises(TypeError):
        to_decimal(1.5, 8)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "1e-8", "1.", ".5", "0.000000001", "1,5", "abc", "--1", "NaN"])
def test_parse_decimal_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_decimal(text, 8)


def test_parse_decimal_examples() -> None:
    assert parse_decimal("1.23456789", 8) == 123456789
    assert parse_decimal("10", 8) == 1_000_000_000
    assert parse_decimal(" 0.5 ", 8) == 50_000_000
    assert parse_decimal("-0.00000001", 8) == -1
    assert parse_decimal("7", 0) == 7


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=0, max_value=18))
def test_decimal_round_trip(units: int, decimals: int) -> None:
    assert parse_decimal(to_decimal(units, decimals), decimals) == units


def test_settings_override_one_coin() -> None:
    s = load({"COIN_BTC_FEE_BPS": "250", "COIN_BTC_SCHEME": "PPS", "COIN_BTC_PAYOUT_MINIMUM": "0.01",
              "COIN_DOGE_MATURITY": "300", "PPLNS_WINDOW_FACTOR": "3.5"})
    btc = s.coins.coin("btc")
    assert (btc.fee_bps, btc.scheme, btc.payout_minimum) == (250, "pps", 1_000_000)
    assert s.coins.coin("DOGE").maturity == 300
    assert s.coins.coin("LTC") == coin("LTC")  # untouched coins keep the defaults
    assert s.coins.window_factor == 3.5
    assert [c.code for c in s.coins.coins] == ["BTC", "LTC", "DOGE"]
    assert load({}).coins == CoinSettings()


@pytest.mark.parametrize(("env", "named"), [
    ({"COIN_BTC_PAYOUT_MINIMUM": "0.000000001"}, "COIN_BTC_PAYOUT_MINIMUM"),
    ({"COIN_LTC_PAYOUT_MINIMUM": "-1"}, "COIN_LTC_PAYOUT_MINIMUM"),
    ({"COIN_LTC_FEE_BPS": "10001"}, "COIN_LTC_FEE_BPS"),
    ({"COIN_DOGE_SCHEME": "pplnz"}, "COIN_DOGE_SCHEME"),
    ({"COIN_DOGE_MATURITY": "0"}, "COIN_DOGE_MATURITY"),
    ({"PPLNS_WINDOW_FACTOR": "-2"}, "PPLNS_WINDOW_FACTOR"),
])
def test_bad_values_are_one_line_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(env)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_group_checks_its_own_fields() -> None:
    with pytest.raises(SettingsError, match="fee_bps"):
        CoinSettings(btc_fee_bps=20_000)
    with pytest.raises(SettingsError, match="window_factor"):
        CoinSettings(window_factor=float("nan"))
    with pytest.raises(SettingsError, match="scheme"):
        Coin("BTC", Algorithm.SHA256D, 8, 101, 0, 100, "ppx")
