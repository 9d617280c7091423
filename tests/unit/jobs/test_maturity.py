"""The maturity job's decisions without ClickHouse: which rows it writes, with which tokens, for which answers."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from jobs.maturity import FALLBACK_MATURITY, MaturityJob, coin_maturity
from schemas.clock import FixedClock

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)


class Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class FakeClient:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.inserts: list[tuple[str, list[Any], str]] = []

    def query(self, sql: str, parameters: dict[str, Any]) -> Result:
        assert "HAVING state IN ('found', 'pending')" in sql
        return Result(self.rows)

    def insert(self, table: str, rows: list[list[Any]], column_names: list[str], settings: dict[str, str]) -> None:
        assert column_names[-1] == "confirmations" and len(column_names) == len(rows[0])
        self.inserts.append((table, rows[0], settings["insert_deduplication_token"]))


def open_block(hash_: str, coin: str, known: int = 0) -> tuple[Any, ...]:
    return (hash_, 7, T0_MS, "sha256d", coin, "m", "w", 100, 1.0, 2.0, "found", "j", "", known)


class Chain:
    def __init__(self, answers: dict[str, int | None]) -> None:
        self.answers = answers

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None:
        if block_hash not in self.answers:
            raise ConnectionError("node down")
        return self.answers[block_hash]


def test_decisions_and_tokens() -> None:
    client = FakeClient([open_block("a", "BTC"), open_block("b", "BTC"), open_block("c", "DOGE", known=5),
                         open_block("d", "DOGE", known=5), open_block("e", "XYZ"), open_block("f", "LTC")])
    chain = Chain({"a": 101, "b": None, "c": 5, "d": 6, "e": 1000})  # f: node down
    run = asyncio.run(MaturityJob(client, chain, FixedClock(T0 + dt.timedelta(hours=1))).run())  # type: ignore[arg-type]
    assert (run.checked, run.confirmed, run.orphaned, run.pending, run.unavailable) == (6, ["a"], ["b"], 2, 2)
    written = {row[0]: (row[10], row[14], token) for _, row, token in client.inserts}
    assert written == {"a": ("confirmed", 101, "maturity:a:confirmed"), "b": ("orphaned", 0, "maturity:b:orphaned"),
                       "d": ("found", 6, "maturity:d:found:6")}  # c: count unchanged, nothing written
    row = next(r for _, r, _ in client.inserts if r[0] == "a")
    assert row[2] == T0 and row[13] == T0 + dt.timedelta(hours=1)  # the block's time kept; updated_at = the check


def test_coin_maturity_from_the_coin_table_or_fallback() -> None:
    for code, confirmations in FALLBACK_MATURITY.items():
        assert coin_maturity(code) == confirmations
    with pytest.raises(ValueError, match="XYZ"):
        coin_maturity("XYZ")
