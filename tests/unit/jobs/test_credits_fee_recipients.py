"""Fee recipients (COIN_<C>_FEE_RECIPIENTS): the block fee is split over them exactly (largest remainder,
stable), becomes credit rows `fee:<hash>:<addr>` whose reversals never collide with a miner's, and a bad
setting is refused with the variable's name."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.credits import settlement
from kernels.rewards import Split, hamilton_reference, split_fee
from poolstream.settings import load
from schemas.algorithms import Algorithm
from schemas.coins import Coin, fee_recipients_parser
from schemas.config import SettingsError
from sinks.ledger import FoundBlock, reversal_key

A = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"  # the miner who found the block, also a fee recipient
B = "bc1qminerb0000000000000000000000000000"
C = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
BLOCK = FoundBlock("cd" * 32, 9, 1_000, "sha256d", "BTC", A, 1_000, "found")


def btc(*recipients: tuple[str, int]) -> Coin:
    return Coin("BTC", Algorithm.SHA256D, 8, 101, 100_000, 100, "pplns", tuple(recipients))


def test_split_fee_is_exact_and_breaks_ties_by_address() -> None:
    assert split_fee(10, [(B, 1), (A, 1), (C, 1)]) == {B: 3, A: 3, C: 4}  # the tied unit to the smallest: C
    assert split_fee(0, [(A, 3)]) == {A: 0}
    with pytest.raises(ValueError):
        split_fee(5, [])


@given(st.integers(0, 10**15), st.lists(st.integers(1, 10**6), min_size=1, max_size=8))
def test_split_fee_matches_the_fraction_reference(fee: int, weights: list[int]) -> None:
    recipients = [(f"addr{i:02d}", w) for i, w in enumerate(weights)]
    got = split_fee(fee, recipients)
    quotas = {a: Fraction(fee * w, sum(weights)) for a, w in recipients}
    assert got == hamilton_reference(fee, quotas)
    assert sum(got.values()) == fee and min(got.values()) >= 0


def test_settlement_credits_the_fee_to_its_recipients_and_keeps_the_marker() -> None:
    rows = settlement(BLOCK, btc((A, 1), (C, 3)), Split({A: 900, B: 90}, 10, 0, 3))
    by_key = {r.entry_key: (r.address, r.kind, r.amount) for r in rows}
    h = BLOCK.hash
    assert by_key[f"fee:{h}:{A}"] == (A, "credit", 2) and by_key[f"fee:{h}:{C}"] == (C, "credit", 8)  # 2.5 | 7.5: tie to C
    assert by_key[f"fee:{h}"] == ("", "fee", 0)
    assert sum(r.amount for r in rows) == BLOCK.reward
    reversals = {reversal_key(r) for r in rows}
    assert len(reversals) == len(rows)  # A's credit and A's fee share reverse under distinct keys
    assert f"reversal:{h}:#fee:{A}" in reversals and f"reversal:{h}:{A}" in reversals


def test_without_recipients_the_fee_stays_one_pool_row() -> None:
    rows = settlement(BLOCK, btc(), Split({A: 990}, 10, 0, 1))
    assert [(r.entry_key, r.address, r.amount) for r in rows if r.kind == "fee"] == [(f"fee:{BLOCK.hash}", "", 10)]


def test_the_parser_reads_weights_and_refuses_bad_addresses() -> None:
    parse = fee_recipients_parser("BTC")
    assert parse(f"{A}:1, {C}:3") == ((A, 1), (C, 3))
    assert parse("") == ()
    for bad in (f"{A}", f"{A}:0", f"{A}:x", f"{A}:1,{A}:2", "LTCaddressnotbtc00000000000:1"):
        with pytest.raises(ValueError):
            parse(bad)
    with pytest.raises(SettingsError, match="fee recipients"):
        btc(("nope", 1))


def test_a_bad_setting_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="COIN_BTC_FEE_RECIPIENTS"):
        load({"COIN_BTC_FEE_RECIPIENTS": "notanaddress:1"})
    assert load({"COIN_BTC_FEE_RECIPIENTS": f"{C}:2"}).coins.coin("BTC").fee_recipients == ((C, 2),)
