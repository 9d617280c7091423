"""The credits job's pure parts: a split becomes ledger rows that add up to the reward exactly (or the job
refuses it), and every reversal key is unique per reversed row."""

from __future__ import annotations

import pytest

from jobs.credits import settlement
from kernels.rewards import Split
from schemas.algorithms import Algorithm
from schemas.coins import Coin
from sinks.ledger import FoundBlock, LedgerEntry, entries_token, reversal_key

BTC = Coin("BTC", Algorithm.SHA256D, 8, 101, 100_000, 100, "pplns")
BLOCK = FoundBlock("ab" * 32, 7, 1_000, "sha256d", "BTC", "bc1qfinder", 1_000, "found")


def test_settlement_rows_add_up_to_the_reward() -> None:
    rows = settlement(BLOCK, BTC, Split({"b": 600, "a": 380, "z": 0}, 10, 10, 3))
    assert [(r.entry_key, r.kind, r.amount) for r in rows] == [
        (f"credit:{BLOCK.hash}:a", "credit", 380), (f"credit:{BLOCK.hash}:b", "credit", 600),
        (f"fee:{BLOCK.hash}", "fee", 10), (f"remainder:{BLOCK.hash}", "remainder", 10)]
    assert sum(r.amount for r in rows) == BLOCK.reward


def test_settlement_always_writes_the_fee_row_as_the_blocks_marker() -> None:
    rows = settlement(BLOCK, BTC, Split({"a": 1_000}, 0, 0, 1))
    assert [r.entry_key for r in rows] == [f"credit:{BLOCK.hash}:a", f"fee:{BLOCK.hash}"]


@pytest.mark.parametrize("split", [Split({"a": 999}, 0, 0, 1), Split({"a": 1_001, "b": -1}, 0, 0, 2)])
def test_a_split_that_does_not_add_up_is_refused(split: Split) -> None:
    with pytest.raises(ValueError, match="not its reward"):
        settlement(BLOCK, BTC, split)


def test_reversal_keys_are_distinct_for_credits_fee_and_remainder() -> None:
    h = BLOCK.hash
    keys = {reversal_key(LedgerEntry(f"{kind}:{h}", 0, "BTC", address, kind, 1, h))
            for kind, address in [("credit", "a"), ("credit", "b"), ("fee", ""), ("remainder", "")]}
    assert keys == {f"reversal:{h}:a", f"reversal:{h}:b", f"reversal:{h}:#fee", f"reversal:{h}:#remainder"}


def test_the_dedup_token_depends_on_keys_and_amounts_not_order() -> None:
    one = LedgerEntry("fee:x", 0, "BTC", "", "fee", 1)
    two = LedgerEntry("credit:x:a", 5, "BTC", "a", "credit", 2)
    assert entries_token([one, two]) == entries_token([two, one])
    assert entries_token([one]) != entries_token([LedgerEntry("fee:x", 0, "BTC", "", "fee", 2)])
