"""Settlement planning without ClickHouse: who is payable, batches, deterministic idempotency keys, the
ledger rows of a sent payout."""

from __future__ import annotations

from jobs.settlement import ledger_rows, payable, payout_id, plan
from sinks.payouts import Payout


def test_payable_uses_the_higher_of_minimum_and_own_threshold() -> None:
    balances = {"a": 100, "b": 99, "c": 500, "d": 1000, "e": 0}
    assert payable(balances, 100, {"c": 600, "b": 10}) == [("a", 100), ("d", 1000)]
    assert payable(balances, 100, {}, frozenset({"d"})) == [("a", 100), ("c", 500)]
    assert payable({"z": 5}, 0, {}) == [("z", 5)]


def test_payout_id_is_deterministic_and_distinct() -> None:
    r = [("a", 1), ("b", 2)]
    assert payout_id("BTC", 3, r) == payout_id("BTC", 3, list(reversed(r)))
    assert payout_id("BTC", 3, r).startswith("btc-00000003-")
    others = {payout_id("BTC", 4, r), payout_id("LTC", 3, r), payout_id("BTC", 3, [("a", 1), ("b", 3)])}
    assert payout_id("BTC", 3, r) not in others and len(others) == 3


def test_plan_batches_and_numbers() -> None:
    due = [(f"a{i}", 10 + i) for i in range(5)]
    ps = plan("BTC", due, seq=7, batch_max=2, now_ms=1000)
    assert [len(p.recipients) for p in ps] == [2, 2, 1]
    assert [p.payout_id.split("-")[1] for p in ps] == ["00000007", "00000008", "00000009"]
    assert all(p.state == "planned" for p in ps) and sum(p.total for p in ps) == sum(v for _, v in due)
    assert plan("BTC", [], seq=0, batch_max=2, now_ms=0) == []


def test_ledger_rows_are_negative_and_keyed() -> None:
    p = Payout("btc-1", "BTC", "sent", (("a", 5), ("b", 7)), 0, 0, tx_hash="tx")
    rows = ledger_rows(p, 123)
    assert [(r.entry_key, r.amount, r.kind, r.payout_id) for r in rows] == [
        ("payout:btc-1:a", -5, "payout", "btc-1"), ("payout:btc-1:b", -7, "payout", "btc-1")]
