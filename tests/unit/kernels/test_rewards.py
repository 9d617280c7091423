"""Reward schemes against the exact `fractions.Fraction` reference, and their money invariants."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.apportion import exact_ints, largest_remainder
from kernels.rewards import (
    ShareWindow,
    Split,
    fee_of,
    pplns_weights,
    pplns_weights_reference,
    pps_value,
    split_block,
    split_reference,
)

Shares = list[tuple[str, float, float]]


def window_of(shares: Shares, owners: tuple[str, ...] | None = None) -> ShareWindow:
    owners = owners or tuple(dict.fromkeys(a for a, _, _ in shares))
    index = {a: i for i, a in enumerate(owners)}
    return ShareWindow(np.array([index[a] for a, _, _ in shares], dtype=np.int64),
                       np.array([d for _, d, _ in shares], dtype=np.float64),
                       np.array([big for _, _, big in shares], dtype=np.float64), owners)


def balanced(split: Split, reward: int) -> bool:
    amounts = [*split.credits.values(), split.fee, split.remainder]
    return sum(amounts) == reward and min(amounts) >= 0 and all(v > 0 for v in split.credits.values())


HAND = [("A", 900.0, 1000.0), ("B", 800.0, 1000.0), ("A", 600.0, 1000.0)]


def test_domain_hand_worked_pplns_example() -> None:
    # DOMAIN.md: D=1000, X=2, R=(1-f)B=6.1875 -> A 3.7125, B 2.475 (8 decimals: base units)
    split = split_block("pplns", 618_750_000, 0, window_of(HAND), window_factor=2.0)
    assert split == Split({"A": 371_250_000, "B": 247_500_000}, 0, 0, 3)
    assert split_reference("pplns", 618_750_000, 0, HAND) == split
    # the same with a 1 % fee: fee = floor(B/100), miners get the rest
    withfee = split_block("pplns", 625_000_000, 100, window_of(HAND))
    assert withfee == Split({"A": 371_250_000, "B": 247_500_000}, 6_250_000, 0, 3)


def test_pplns_cuts_and_stops_at_the_window() -> None:
    shares = [*HAND, ("C", 5000.0, 1000.0)]  # C lies beyond X: earns nothing
    split = split_block("pplns", 618_750_000, 0, window_of(shares))
    assert "C" not in split.credits and split.window_shares == 3


def test_pplns_uses_each_shares_own_network_difficulty() -> None:
    # A's share at D=500 scores 1.0, B's at D=2000 scores 0.5, C's at 1000 crosses X=2 and is cut to 0.5
    shares = [("A", 500.0, 500.0), ("B", 1000.0, 2000.0), ("C", 1000.0, 1000.0)]
    split = split_block("pplns", 1_000, 0, window_of(shares))
    assert split.credits == {"A": 500, "B": 250, "C": 250}
    assert split == split_reference("pplns", 1_000, 0, shares)


def test_pplns_unfilled_window_remainder_goes_to_the_pool() -> None:
    # the pool is younger than the window: 1.7 of X=2 covered -> 0.3/2 of the miners' part is the remainder
    young = HAND[:2]
    split = split_block("pplns", 1_000_000, 0, window_of(young))
    assert split == Split({"A": 450_000, "B": 400_000}, 0, 150_000, 2)
    assert split == split_reference("pplns", 1_000_000, 0, young)
    empty = split_block("pplns", 1_000, 100, window_of([]))
    assert empty == Split({}, 10, 990, 0)


def test_prop_and_solo() -> None:
    prop = split_block("prop", 1_000, 0, window_of(HAND))  # Σd: A 1500, B 800 of 2300
    assert prop.credits == {"A": 652, "B": 348} and prop.window_shares == 3  # 652.17 / 347.83: B gets the unit
    assert prop == split_reference("prop", 1_000, 0, HAND)
    solo = split_block("solo", 1_000, 250, window_of(HAND))
    assert solo == Split({"A": 975}, 25, 0, 1)
    assert split_block("solo", 1_000, 0, window_of(HAND), finder="Z").credits == {"Z": 1_000}


def test_fee_rounds_down() -> None:
    assert fee_of(999, 100) == 9 and fee_of(1_000, 100) == 10 and fee_of(7, 10_000) == 7 and fee_of(7, 0) == 0
    with pytest.raises(ValueError):
        fee_of(100, 10_001)
    with pytest.raises(ValueError):
        fee_of(-1, 100)


def test_tie_break_is_by_address_whatever_the_order() -> None:
    shares = [("bob", 1.0, 10.0), ("alice", 1.0, 10.0), ("carol", 1.0, 10.0)]
    for owners in [("alice", "bob", "carol"), ("carol", "bob", "alice"), ("bob", "carol", "alice")]:
        split = split_block("prop", 1_001, 0, window_of(shares, owners))  # 333.67 each: 2 leftover units
        assert split.credits == {"alice": 334, "bob": 334, "carol": 333}


def test_refuses_bad_windows_and_schemes() -> None:
    with pytest.raises(ValueError, match="pps_value"):
        split_block("pps", 1, 0, window_of(HAND))
    with pytest.raises(ValueError, match="network_difficulty"):
        split_block("pplns", 1, 0, window_of([("A", 1.0, 0.0)]))
    with pytest.raises(ValueError, match="difficulty"):
        split_block("pplns", 1, 0, window_of([("A", float("nan"), 1.0)]))
    with pytest.raises(ValueError, match="unique"):
        split_block("prop", 1, 0, window_of(HAND, ("A", "B", "A")))
    with pytest.raises(ValueError, match="out of range"):
        split_block("prop", 1, 0, ShareWindow(np.array([3]), np.array([1.0]), np.array([1.0]), ("A",)))
    with pytest.raises(ValueError, match="window_factor"):
        split_block("pplns", 1, 0, window_of(HAND), window_factor=0.0)


def test_largest_remainder() -> None:
    assert largest_remainder(10, [1, 1, 1], ["c", "b", "a"]) == [3, 3, 4]
    assert largest_remainder(0, [5, 0], ["a", "b"]) == [0, 0]
    assert exact_ints([0.5, 0.25, 3.0]) == [2, 1, 12]
    with pytest.raises(ValueError):
        largest_remainder(5, [0, 0], ["a", "b"])


def test_pps_value() -> None:
    values = pps_value(np.array([1.0, 2.0, 3.0, 5000.0]), np.array([1000.0] * 4), 625_000_000, 100)
    assert values.dtype == np.int64
    assert values.tolist() == [618_750, 1_237_500, 1_856_250, 618_750_000]  # capped at p = 1
    assert pps_value(np.array([1.0]), np.array([3.0]), 10, 0).tolist() == [3]  # 3.33 rounded down
    with pytest.raises(ValueError):
        pps_value(np.array([1.0]), np.array([-3.0]), 10, 0)


# ---- hypothesis: random windows ---------------------------------------------------------------------

ADDRESSES = st.sampled_from(["a1", "a2", "b1", "c9", "zz", "m0"])
FLOATS = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
SHARES = st.lists(st.tuples(ADDRESSES, FLOATS, FLOATS), min_size=1, max_size=40)
REWARDS = st.integers(min_value=0, max_value=2**62)
FEES = st.integers(min_value=0, max_value=10_000)
FACTORS = st.floats(min_value=1e-3, max_value=50.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(SHARES, REWARDS, FEES, FACTORS, st.sampled_from(["pplns", "prop", "solo"]))
def test_random_windows_balance_and_track_the_exact_reference(shares: Shares, reward: int, fee_bps: int,
                                                             factor: float, scheme: str) -> None:
    split = split_block(scheme, reward, fee_bps, window_of(shares), window_factor=factor)
    assert balanced(split, reward)
    exact = split_reference(scheme, reward, fee_bps, shares, factor)
    assert split.fee == exact.fee and split.window_shares == exact.window_shares
    # float scores vs exact rationals: relative error ~ n·2^-53 of the reward, so one base unit apart for
    # real block rewards (3.125 BTC ~ 2^28 units); for huge rewards, a few units
    slack = 1 + (reward * len(shares) >> 50)
    for who in set(split.credits) | set(exact.credits):
        assert abs(split.credits.get(who, 0) - exact.credits.get(who, 0)) <= slack
    assert abs(split.remainder - exact.remainder) <= slack


# d integers and D powers of two: every float operation is exact, so the split equals the reference exactly
DYADIC = st.lists(st.tuples(ADDRESSES, st.integers(1, 2**20).map(float), st.integers(10, 24).map(lambda e: 2.0**e)),
                  min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(DYADIC, REWARDS, FEES, st.sampled_from([0.5, 1.0, 2.0, 4.0]), st.sampled_from(["pplns", "prop"]))
def test_exact_windows_equal_the_reference(shares: Shares, reward: int, fee_bps: int, factor: float,
                                           scheme: str) -> None:
    split = split_block(scheme, reward, fee_bps, window_of(shares), window_factor=factor)
    assert split == split_reference(scheme, reward, fee_bps, shares, factor)
    assert balanced(split, reward)


@settings(max_examples=100, deadline=None)
@given(SHARES, FACTORS)
def test_kernel_walk_is_bit_identical_to_the_python_walk(shares: Shares, factor: float) -> None:
    w = window_of(shares)
    weights, used, filled = pplns_weights(w.owner, w.difficulty, w.network_difficulty, len(w.owners), factor)
    ref_weights, ref_used, ref_filled = pplns_weights_reference(
        w.owner.tolist(), w.difficulty.tolist(), w.network_difficulty.tolist(), len(w.owners), factor)
    assert weights.tolist() == ref_weights and (used, filled) == (ref_used, ref_filled)


@settings(max_examples=100, deadline=None)
@given(SHARES, REWARDS, st.permutations(range(6)))
def test_owner_order_does_not_change_the_split(shares: Shares, reward: int, perm: list[int]) -> None:
    names = tuple(dict.fromkeys(a for a, _, _ in shares))
    shuffled = tuple(sorted(names, key=lambda n: perm[names.index(n)]))
    assert split_block("pplns", reward, 100, window_of(shares)) == split_block("pplns", reward, 100,
                                                                                 window_of(shares, shuffled))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(FLOATS, FLOATS), min_size=1, max_size=50), st.integers(0, 2**53), FEES)
def test_pps_tracks_exact_and_never_exceeds_a_block(pairs: list[tuple[float, float]], reward: int,
                                                      fee_bps: int) -> None:
    d = np.array([a for a, _ in pairs])
    big = np.array([b for _, b in pairs])
    values = pps_value(d, big, reward, fee_bps).tolist()
    miners = reward - fee_of(reward, fee_bps)
    for v, (a, b) in zip(values, pairs, strict=True):
        exact = math.floor(miners * min(Fraction(a) / Fraction(b), Fraction(1)))
        assert 0 <= v <= miners and abs(v - exact) <= max(1, miners >> 50)  # float64: 1 unit below 2^50


def test_pps_value_is_exact_where_float_lands_next_to_an_integer() -> None:
    # 27981 · (1/27981) is 0.999… in float64; the exact floor is 1 (found by hypothesis in jobs/pps).
    from kernels.rewards import pps_value

    assert list(pps_value(np.array([1.0, 3.0]), np.array([27981.0, 27981.0]), 27981, 0)) == [1, 3]
