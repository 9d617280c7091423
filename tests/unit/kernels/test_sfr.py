"""SFR reward math (kernels.sfr) against `fractions.Fraction`: the seed's worked example, the fixed-point product
(exact, floored, never more than earned), the formula string, the market factor's bounds and steps."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernels.sfr import (
    contribution_score,
    factor_units,
    floor4,
    formula,
    holding_breakdown,
    market_factor,
    reward_units,
    show,
    show_sfr,
)
from schemas.sfr import SFR_UNIT, ActivityType, sfr_amount, sfr_units

SEED_METRICS = {"commitsCount": 5, "mergedPrsCount": 2, "codeAdded": 150, "codeDeleted": 30}

#: a factor: a decimal with at most 4 places, 0 .. 20
factors = st.integers(min_value=0, max_value=200_000).map(lambda n: Decimal(n).scaleb(-4))


def test_seed_worked_example_is_exactly_7_56() -> None:
    c = contribution_score(ActivityType.COMMIT, SEED_METRICS)
    m = market_factor(Decimal("145.50"), Decimal("150.00"))
    h = holding_breakdown(365, 6, 1000 * SFR_UNIT, 25, Decimal("140.00"), Decimal("145.50"))
    assert (c, m) == (Decimal("2.5"), Decimal("1.2"))
    assert (h.base_holding, h.staking_bonus, h.payment_usage_bonus, h.price_support_bonus) == (
        Decimal("1.2"), Decimal("0.3"), Decimal("0.1"), Decimal("0.2"))
    assert h.holding_factor == Decimal("1.8") and h.price_support_ratio == Decimal("0.96")
    units = reward_units(Decimal("1.4"), c, m, h.holding_factor)
    assert units == 756_000_000 and sfr_amount(units) == Decimal("7.56")
    assert formula(Decimal("1.4"), c, m, h.holding_factor, units) == "1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"


@given(factors, factors, factors, factors)
def test_reward_is_the_exact_product_floored_to_1e_8(b: Decimal, c: Decimal, m: Decimal, h: Decimal) -> None:
    exact = Fraction(b) * Fraction(c) * Fraction(m) * Fraction(h)
    units = reward_units(b, c, m, h)
    assert units == math.floor(exact * SFR_UNIT)
    assert Fraction(units, SFR_UNIT) <= exact < Fraction(units + 1, SFR_UNIT)  # never more than earned


@given(factors, factors, factors, factors)
def test_reward_is_monotone_and_order_free(b: Decimal, c: Decimal, m: Decimal, h: Decimal) -> None:
    assert reward_units(b, c, m, h) == reward_units(h, m, c, b)
    assert reward_units(b + Decimal("0.0001"), c, m, h) >= reward_units(b, c, m, h)


@given(st.integers(min_value=0, max_value=10**15))
def test_units_round_trip(units: int) -> None:
    assert sfr_units(sfr_amount(units)) == units
    assert Decimal(show_sfr(units)) == sfr_amount(units)


def test_factors_with_more_than_four_places_are_refused() -> None:
    with pytest.raises(ValueError):
        factor_units(Decimal("1.00001"))
    with pytest.raises(ValueError):
        factor_units(Decimal("-1"))
    with pytest.raises(ValueError):
        sfr_units(Decimal("0.000000001"))


def test_numbers_are_shown_as_the_seed_writes_them() -> None:
    assert [show(Decimal(v)) for v in ("1.4000", "1", "0.9", "10.25")] == ["1.4", "1.0", "0.9", "10.25"]
    assert [show_sfr(u) for u in (756_000_000, 10_000_000_000, 1)] == ["7.56", "100.00", "0.00000001"]


@given(st.fractions(min_value=0, max_value=10**6))
def test_floor4_never_rounds_up(value: Fraction) -> None:
    got = Fraction(floor4(value))
    assert got <= value < got + Fraction(1, 10_000)


prices = st.integers(min_value=1, max_value=10**10).map(lambda n: Decimal(n).scaleb(-4))


@given(prices, prices)
def test_market_factor_is_bounded_stepped_and_falls_with_price(current: Decimal, target: Decimal) -> None:
    m = market_factor(current, target)
    assert Decimal("0.5") <= m <= Decimal("2.0") and m == m.quantize(Decimal("0.1"))
    raw = 1 + 6 * (Fraction(target) - Fraction(current)) / Fraction(target)  # the documented rule
    assert Fraction(m) == min(Fraction(2), max(Fraction(1, 2), Fraction(math.floor(raw * 10 + Fraction(1, 2)), 10)))
    assert market_factor(current + Decimal("0.0001"), target) <= m


def test_market_factor_examples() -> None:
    assert market_factor(Decimal(150), Decimal(150)) == Decimal("1.0")
    assert market_factor(Decimal(1), Decimal(150)) == Decimal("2.0")
    assert market_factor(Decimal(1000), Decimal(150)) == Decimal("0.5")
    assert market_factor(Decimal(160), Decimal(150)) == Decimal("0.6")
    with pytest.raises(ValueError):
        market_factor(Decimal(0), Decimal(150))


def test_holding_tiers() -> None:
    none = holding_breakdown(0, 0, 0, 0, Decimal(0), Decimal("145.5"))
    assert none.holding_factor == Decimal("1.0")
    small_stake = holding_breakdown(30, 12, 99 * SFR_UNIT, 0, Decimal(0), Decimal(100))
    assert (small_stake.base_holding, small_stake.staking_bonus) == (Decimal("1.05"), Decimal(0))
    most = holding_breakdown(10_000, 60, 10**6 * SFR_UNIT, 1000, Decimal(200), Decimal(100))
    assert most.holding_factor == Decimal("1.95")
    with pytest.raises(ValueError):
        holding_breakdown(-1, 0, 0, 0, Decimal(0), Decimal(1))


@given(st.integers(0, 5000), st.integers(0, 120), st.integers(0, 10**12), st.integers(0, 10**4), prices, prices)
def test_holding_factor_is_the_sum_of_its_bounded_parts(days: int, months: int, staked: int, payments: int,
                                                        average: Decimal, current: Decimal) -> None:
    h = holding_breakdown(days, months, staked, payments, average, current)
    assert h.holding_factor == h.base_holding + h.staking_bonus + h.payment_usage_bonus + h.price_support_bonus
    assert Decimal("1.0") <= h.holding_factor <= Decimal("1.95")
    assert holding_breakdown(days + 1, months, staked, payments, average, current).holding_factor >= h.holding_factor
