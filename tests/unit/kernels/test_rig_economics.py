"""The rig arithmetic (kernels/rig_economics.py) against exact rationals and hand-checked values."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.rewards import fee_of
from kernels.rig_economics import (
    apportion,
    coin_value,
    decimal_of,
    efficiency,
    energy_kwh,
    fiat,
    power_cost,
    pps_estimate,
    profit,
)
from sinks.rig_figures import parse_site_prices


def test_efficiency_units_per_algorithm() -> None:
    for power, rate, algorithm, joules, unit in ((3250.0, 100e12, "sha256d", 32.5, "J/TH"),
                                                 (1200.0, 2e9, "scrypt", 0.6, "J/MH"),
                                                 (120.0, 30e6, "ethash", 4.0, "J/MH"),
                                                 (65.0, 13e3, "randomx", 5.0, "J/kH")):
        value, named = efficiency(power, rate, algorithm)
        assert value == pytest.approx(joules) and named == unit


@pytest.mark.parametrize("power,rate", [(None, 1e12), (100.0, None), (0.0, 1e12), (100.0, 0.0), (math.nan, 1.0),
                                        (100.0, math.inf), (-5.0, 1e12)])
def test_efficiency_is_null_without_a_positive_power_and_hashrate(power: float | None, rate: float | None) -> None:
    assert efficiency(power, rate, "sha256d") == (None, "J/TH")


def test_efficiency_of_an_unknown_algorithm_has_no_unit() -> None:
    assert efficiency(100.0, 1e6, "x11") == (None, None)


def test_energy_and_power_cost_are_exact_decimals() -> None:
    # 59 minutes at 3000 W and one at 3600 W: 180,600 W·min = 3.01 kWh
    kwh = energy_kwh(59 * 3000.0 + 3600.0)
    assert kwh == Decimal("3.01")
    assert power_cost(59 * 3000.0 + 3600.0, Decimal("0.1")) == Decimal("0.30100000")
    assert power_cost(1.0, Decimal("0.12")) == Decimal("0.00000200")  # 1 W·min: 2e-6 exact
    assert decimal_of(0.1) == Decimal("0.1")
    with pytest.raises(ValueError):
        decimal_of(math.inf)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.integers(0, 10**6))
def test_power_cost_matches_the_rational_product(watt_minutes: float, price_millis: int) -> None:
    price = Decimal(price_millis) / 1000
    exact = Fraction(repr(watt_minutes)) / 60_000 * Fraction(price_millis, 1000)
    scaled = exact * 10**8
    rounded = round(scaled)  # Python rounds half to even, as the kernel does
    assert power_cost(watt_minutes, price) == Decimal(rounded).scaleb(-8)


def test_power_cost_on_a_half_is_rounded_once_to_even() -> None:
    # 1.9 W·min at 0.189/kWh is exactly 0.000005985: half-even gives ...598 (a kWh cut first gave ...599)
    assert power_cost(1.9, Decimal("0.189")) == Decimal("0.00000598")


@given(st.floats(min_value=0, max_value=50, allow_nan=False), st.integers(0, 10**15), st.integers(0, 10_000))
def test_pps_estimate_is_the_floor_of_the_exact_product(work: float, reward: int, fee_bps: int) -> None:
    expected = math.floor((reward - fee_of(reward, fee_bps)) * Fraction(work))
    assert pps_estimate(work, reward, fee_bps) == expected


def test_pps_estimate_edges() -> None:
    assert pps_estimate(0.0, 10**8, 100) == 0
    assert pps_estimate(math.nan, 10**8, 100) == 0
    assert pps_estimate(3 / 1024, 312_500_000, 100) == 906_372  # floor(309,375,000 · 3/1024)


@given(st.integers(-10**15, 10**15), st.lists(st.floats(min_value=0.001, max_value=1e12), min_size=1, max_size=8))
def test_apportioned_parts_never_exceed_the_total(total: int, parts: list[float]) -> None:
    whole = sum(parts)
    got = [apportion(total, p, whole) for p in parts]
    assert all(g == math.floor(Fraction(total) * Fraction(p) / Fraction(whole)) for g, p in zip(got, parts, strict=True))
    if total >= 0:
        assert sum(got) <= total


def test_apportion_without_work_is_zero() -> None:
    assert apportion(1000, 0.0, 10.0) == 0 and apportion(1000, 1.0, 0.0) == 0
    assert apportion(1001, 1.0, 4.0) == 250 and apportion(-1001, 1.0, 4.0) == -251


def test_coin_value_and_profit() -> None:
    assert coin_value(906_372, 8, Decimal("60000.5")) == Decimal("543.82773186")  # 0.00906372 · 60000.5
    assert profit(Decimal("543.82773186"), Decimal("0.301")) == Decimal("543.52673186")
    assert profit(Decimal("0"), Decimal("1.5")) == Decimal("-1.50000000")
    assert fiat(Decimal("0.000000005")) == Decimal("0E-8")  # half-even
    assert fiat(Decimal("0.000000015")) == Decimal("0.00000002")


def test_site_prices_parse_and_name_a_bad_entry() -> None:
    assert parse_site_prices(" paris=0.25, tokyo = 31 ,") == {"paris": Decimal("0.25"), "tokyo": Decimal("31")}
    assert parse_site_prices("") == {}
    for bad in ("paris", "=0.1", "paris=-1", "paris=abc", "paris=nan"):
        with pytest.raises(ValueError, match="SITE_ELECTRICITY_PRICES"):
            parse_site_prices(bad)
