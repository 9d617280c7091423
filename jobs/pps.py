"""Job `pps`: credit every accepted share of a PPS / FPPS coin once, per closed minute (the settlement period).

Under PPS the pool pays each share its expected value whether or not a block is found (the pool carries the
variance): a share of difficulty d at network difficulty D earns floor((B − fee) · min(d/D, 1)) base units
(`kernels.rewards.pps_value`, made exact: `exact_pps_values`), where B is the expected block reward: the coin's subsidy (PPS), plus the
expected fees (FPPS: `fpps_fee_bps` of the subsidy). The floor is per share (exact and independent of how
shares are batched); the dust stays with the pool. A miner's credit for a minute is the sum of its shares'
values, one ledger row `credit:pps:<COIN>:<minute_ms>:<address>` (ts = the minute's start, no block hash:
mature at once, see `api.services.balances`).

A minute is settled only when its shares are durable: the same rule as `jobs.credits` (every partition that
stored a share in the hour before the minute's end has stored one at or after it, or the shares topic's
consumer lag is 0 and the end is `settle_s` old). Minutes are taken oldest first after the newest one already
credited; rows are keyed and every insert carries a dedup token, so a rerun, a crash between runs or two runs
at once change nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from clickhouse_connect.driver.client import Client

from kernels.rewards import pps_value
from schemas.clock import Clock, SystemClock
from schemas.coins import Coin
from sinks.ledger import LedgerEntry, LedgerWriter, shares_written_past

log = logging.getLogger(__name__)

PPS_SCHEMES = ("pps", "fpps")
MINUTE_MS = 60_000


def pps_key(code: str, minute_ms: int, address: str) -> str:
    return f"credit:pps:{code}:{minute_ms}:{address}"


def expected_reward(c: Coin, subsidy: int, fpps_fee_bps: int) -> int:
    """B of a PPS share's value: the subsidy; FPPS adds the expected fees, `fpps_fee_bps` of the subsidy."""
    return subsidy + (subsidy * fpps_fee_bps // 10_000 if c.scheme == "fpps" else 0)


def exact_pps_values(difficulty: Sequence[float], network_difficulty: Sequence[float], reward: int,
                     fee_bps: int) -> list[int]:
    """floor((reward − fee) · min(d/D, 1)) per share, exactly (`kernels.rewards.pps_value`)."""
    return [int(v) for v in pps_value(np.asarray(difficulty, np.float64), np.asarray(network_difficulty, np.float64),
                                      reward, fee_bps)]


def minute_credits(code: str, scheme: str, reward: int, fee_bps: int, minute: Sequence[int], miner: Sequence[str],
                   difficulty: Sequence[float], network_difficulty: Sequence[float]) -> list[LedgerEntry]:
    """The credit rows of shares (columns: minute start ms, miner, d, D): per-share floor, summed per
    (minute, miner); rows with 0 units are left out."""
    if not len(minute):
        return []
    values = exact_pps_values(difficulty, network_difficulty, reward, fee_bps)
    totals: dict[tuple[int, str], int] = {}
    for m, a, v in zip(minute, miner, values, strict=True):
        totals[(int(m), str(a))] = totals.get((int(m), str(a)), 0) + int(v)
    return [LedgerEntry(pps_key(code, m, a), m, code, a, "credit", v,
                        reason=f"{scheme} shares {dt.datetime.fromtimestamp(m / 1000, dt.UTC):%Y-%m-%d %H:%M}Z")
            for (m, a), v in sorted(totals.items()) if v > 0]


@dataclass(frozen=True)
class PpsRun:
    """What one run did: minutes credited and rows written per coin."""

    minutes: dict[str, int]
    rows: int


@dataclass
class PpsJob:
    client: Client
    shares_topic: str
    coins: Sequence[Coin]  # the configured coins (those under pps / fpps are credited)
    subsidy: Callable[[str], int]  # expected block subsidy of a coin code, base units
    fpps_fee_bps: int = 0
    shares_caught_up: Callable[[], bool] | None = None  # blocking: the shares topic's consumer lag is 0
    settle_s: float = 10.0
    max_minutes: int = 1440  # per coin and run
    clock: Clock = field(default_factory=SystemClock)
    id: str = "pps"
    interval_s: float = 30.0

    async def run(self) -> PpsRun:
        return await asyncio.to_thread(self.run_once)

    def run_once(self) -> PpsRun:
        writer = LedgerWriter(self.client)
        done: dict[str, int] = {}
        rows = 0
        caught_up: bool | None = None
        for c in self.coins:
            if c.scheme not in PPS_SCHEMES:
                continue
            ready: list[int] = []
            for m in self._open_minutes(c):
                end = m + MINUTE_MS
                if not shares_written_past(self.client, self.shares_topic, end):
                    if caught_up is None:
                        caught_up = self.shares_caught_up() if self.shares_caught_up is not None else False
                    if not (caught_up and self.clock.now_ms() - end >= self.settle_s * 1000):
                        break
                ready.append(m)
            if not ready:
                continue
            entries = self._credits(c, ready[0], ready[-1] + MINUTE_MS)
            writer.write(entries, self.clock.now_ms())
            done[c.code] = len(ready)
            rows += len(entries)
        if rows:
            log.info("pps: credited %s minute(s), %d row(s)", done, rows)
        return PpsRun(done, rows)

    def _open_minutes(self, c: Coin) -> list[int]:
        """Minutes with accepted shares of coin `c` after the newest minute credited, oldest first."""
        last = self.client.query(
            "SELECT toUnixTimestamp64Milli(max(ts)) FROM ledger WHERE kind = 'credit' AND startsWith(entry_key, "
            "{p:String}) HAVING count() > 0", parameters={"p": f"credit:pps:{c.code}:"}).result_rows
        since = int(last[0][0]) + MINUTE_MS if last else 0
        result = self.client.query(
            "SELECT DISTINCT intDiv(toUnixTimestamp64Milli(ts), 60000) * 60000 AS m FROM shares "
            "WHERE status = 'accepted' AND coin = {c:String} AND ts >= fromUnixTimestamp64Milli({since:Int64}) "
            "AND ts < fromUnixTimestamp64Milli({now:Int64}) ORDER BY m LIMIT {n:UInt32}",
            parameters={"c": c.code, "since": since, "now": self.clock.now_ms() // MINUTE_MS * MINUTE_MS,
                        "n": self.max_minutes})
        return [int(r[0]) for r in result.result_rows]

    def _credits(self, c: Coin, start_ms: int, end_ms: int) -> list[LedgerEntry]:
        result = self.client.query(
            "SELECT intDiv(toUnixTimestamp64Milli(ts), 60000) * 60000, miner, difficulty, network_difficulty "
            "FROM shares WHERE status = 'accepted' AND coin = {c:String} AND network_difficulty > 0 "
            "AND difficulty > 0 AND ts >= fromUnixTimestamp64Milli({s:Int64}) "
            "AND ts < fromUnixTimestamp64Milli({e:Int64})",
            parameters={"c": c.code, "s": start_ms, "e": end_ms})
        cols = list(zip(*result.result_rows, strict=True)) if result.result_rows else [(), (), (), ()]
        reward = expected_reward(c, self.subsidy(c.code), self.fpps_fee_bps)
        return minute_credits(c.code, c.scheme, reward, c.fee_bps, [int(x) for x in cols[0]], [str(x) for x in cols[1]],
                              [float(x) for x in cols[2]], [float(x) for x in cols[3]])
