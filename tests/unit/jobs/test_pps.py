"""PPS / FPPS credit rows: per-share floor against a `fractions.Fraction` reference, summed per (minute, miner),
keyed by (coin, minute, address); FPPS adds the expected fees to the reward."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.pps import exact_pps_values, expected_reward, minute_credits, pps_key
from schemas.algorithms import Algorithm
from schemas.coins import Coin

A, B = "bc1qa", "bc1qb"


def reference(reward: int, fee_bps: int, shares: list[tuple[int, str, float, float]]) -> dict[str, int]:
    miners = reward - reward * fee_bps // 10_000
    out: dict[str, int] = {}
    for m, a, d, big_d in shares:
        value = math.floor(miners * min(Fraction(d) / Fraction(big_d), Fraction(1)))
        if value:
            out[pps_key("BTC", m, a)] = out.get(pps_key("BTC", m, a), 0) + value
    return out


def test_rows_are_the_per_share_floor_summed_per_minute_and_miner() -> None:
    shares = [(0, A, 1.0, 3.0), (0, A, 1.0, 3.0), (0, B, 2.0, 3.0), (60_000, A, 5.0, 3.0), (60_000, B, 1e-12, 3.0)]
    rows = minute_credits("BTC", "pps", 1_000, 100, *map(list, zip(*shares, strict=True)))
    # 990 * 1/3 = 330 per share of A (exact), B 660, then A capped at d/D = 1: 990; B's tiny share floors to 0
    assert {r.entry_key: r.amount for r in rows} == {pps_key("BTC", 0, A): 660, pps_key("BTC", 0, B): 660,
                                                      pps_key("BTC", 60_000, A): 990}
    assert all(r.kind == "credit" and r.block_hash == "" and r.ts_ms in (0, 60_000) for r in rows)
    assert minute_credits("BTC", "pps", 1_000, 100, [], [], [], []) == []


def test_fpps_adds_the_expected_fees_and_pps_does_not() -> None:
    pps = Coin("BTC", Algorithm.SHA256D, 8, 2, 0, 100, "pps")
    fpps = Coin("BTC", Algorithm.SHA256D, 8, 2, 0, 100, "fpps")
    assert expected_reward(pps, 312_500_000, 500) == 312_500_000
    assert expected_reward(fpps, 312_500_000, 500) == 328_125_000
    assert expected_reward(fpps, 312_500_000, 0) == 312_500_000


@settings(max_examples=200, deadline=None)
@given(reward=st.integers(0, 10**12), fee_bps=st.integers(0, 10_000),
       shares=st.lists(st.tuples(st.sampled_from([0, 60_000]), st.sampled_from([A, B]),
                                 st.integers(1, 2**20).map(float), st.integers(1, 2**20).map(float)), max_size=30))
def test_matches_the_exact_reference(reward: int, fee_bps: int, shares: list[tuple[int, str, float, float]]) -> None:
    cols: list[list[object]] = [list(c) for c in zip(*shares, strict=True)] if shares else [[], [], [], []]
    rows = minute_credits("BTC", "pps", reward, fee_bps, *cols)  # type: ignore[arg-type]
    got = {r.entry_key: r.amount for r in rows}
    assert got == reference(reward, fee_bps, shares)
    assert all(v > 0 for v in got.values()) and sum(got.values()) <= (reward - reward * fee_bps // 10_000) * len(shares)


def test_bad_difficulty_is_refused() -> None:
    with pytest.raises(ValueError):
        minute_credits("BTC", "pps", 100, 0, [0], [A], [1.0], [0.0])


def test_exact_where_the_float_kernel_lands_one_unit_low() -> None:
    # float64: 27981 * (1 / 27981) = 0.9999999999999999 -> floor 0; exactly it is 1
    assert exact_pps_values([1.0, 3.0, 0.5], [27981.0, 2.0, 1.0], 27981, 0) == [1, 27981, 13990]
