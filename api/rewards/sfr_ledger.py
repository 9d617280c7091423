"""SFR in the money ledger (migration 0011, coin `SFR`): the rows the rewards write, with the ledger's own kinds,
and how the holding incentive reads them back. No second ledger: a user's SFR balance is the ledger's balance
of the address `<userId>` (api/services/balances.py reads it like any coin's).

| movement | entry_key | kind | address | amount |
|---|---|---|---|---|
| a distribution (api/rewards/distribution.py) | `sfr_reward:<distributionId>` | credit | `<userId>` | + units |
| a payment made with SFR | `sfr_payment:<referenceId>` | payout (payout_id = referenceId) | `<userId>` | − units |
| staking | `sfr_stake:<referenceId>` / `…:staked` | adjustment | `<userId>` / `<userId>:staked` | − / + units |
| unstaking | `sfr_unstake:<referenceId>` / `…:staked` | adjustment | `<userId>` / `<userId>:staked` | + / − units |

A credit without a block is mature at once (as PPS credits). Staking moves SFR between the user's two addresses,
so the SFR total of the ledger is always Σ distributed − Σ paid. Keys are deterministic: writing a row again
(a retried distribution) collapses into the same row (ReplacingMergeTree, read with FINAL).

What the other rewards modules rely on: `reward_key(distribution_id)`, `await write(ctx, entries, now)`,
`await movements(ctx, user_id, at)` -> kernel movements with the market price of each inflow's time,
`await balances(ctx, user_id)` -> (free units, staked units).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from api.rewards.context import RewardsContext
from kernels.sfr_holding import Flow, Movement
from schemas.sfr import SFR
from sinks.ledger import KINDS, LEDGER_COLUMNS, LEDGER_TABLE, LedgerEntry

REWARD, PAYMENT, STAKE, UNSTAKE = "sfr_reward:", "sfr_payment:", "sfr_stake:", "sfr_unstake:"
STAKED_SUFFIX = ":staked"
_ROWS = ("SELECT entry_key, toUnixTimestamp64Milli(ts), kind, amount FROM ledger FINAL WHERE coin = {c:String} "
         "AND address = {a:String} AND ts <= fromUnixTimestamp64Milli({at:Int64}, 'UTC') ORDER BY ts, entry_key")
_PRICES = ("SELECT toUnixTimestamp64Milli(price_ts), price_jpy FROM reward_market_prices FINAL "
           "WHERE price_ts <= fromUnixTimestamp64Milli({at:Int64}, 'UTC') ORDER BY price_ts, recorded_at")
_BALANCE = ("SELECT address, sum(amount) FROM ledger FINAL WHERE coin = {c:String} "
            "AND address IN {a:Array(String)} GROUP BY address")
_EXISTING = "SELECT entry_key, amount FROM ledger FINAL WHERE entry_key IN {k:Array(String)}"


def reward_key(distribution_id: int) -> str:
    return f"{REWARD}{distribution_id}"


def staked_address(user_id: str) -> str:
    return user_id + STAKED_SUFFIX


def reward_entry(distribution_id: int, user_id: str, units: int, at: dt.datetime) -> LedgerEntry:
    return LedgerEntry(reward_key(distribution_id), _ms(at), SFR, user_id, "credit", units, reason="sfr_reward")


def movement_entries(kind: str, reference: str, user_id: str, units: int, at: dt.datetime) -> list[LedgerEntry]:
    """The rows of a payment (`payment`), a stake (`stake`) or an unstake (`unstake`) of `units` > 0."""
    ms = _ms(at)
    if kind == "payment":
        return [LedgerEntry(PAYMENT + reference, ms, SFR, user_id, "payout", -units, payout_id=reference,
                            reason="sfr_payment")]
    prefix, sign = (STAKE, -1) if kind == "stake" else (UNSTAKE, 1)
    return [LedgerEntry(prefix + reference, ms, SFR, user_id, "adjustment", sign * units, reason=f"sfr_{kind}"),
            LedgerEntry(prefix + reference + STAKED_SUFFIX, ms, SFR, staked_address(user_id), "adjustment",
                        -sign * units, reason=f"sfr_{kind}")]


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


async def write(ctx: RewardsContext, entries: Sequence[LedgerEntry], now: dt.datetime) -> None:
    """One INSERT of `entries` (validated as sinks.ledger.LedgerWriter does)."""
    for e in entries:
        if e.kind not in KINDS or not isinstance(e.amount, int):
            raise ValueError(f"bad ledger entry {e.entry_key}: kind {e.kind!r}, amount {e.amount!r}")
    if entries:
        await ctx.insert(LEDGER_TABLE, [[e.entry_key, _utc(e.ts_ms), e.coin, e.address, e.kind, e.amount,
                                         e.block_hash, e.payout_id, e.reason, now] for e in entries], LEDGER_COLUMNS)


async def existing(ctx: RewardsContext, keys: Sequence[str]) -> dict[str, int]:
    """entry_key -> amount of those of `keys` already written."""
    if not keys:
        return {}
    rows = await ctx.db.rows(_EXISTING, {"k": list(keys)})
    return {str(k): int(a) for k, a in rows}


async def balances(ctx: RewardsContext, user_id: str) -> tuple[int, int]:
    """(free units at `<userId>`, staked units at `<userId>:staked`), every row counted."""
    rows = await ctx.db.rows(_BALANCE, {"c": SFR, "a": [user_id, staked_address(user_id)]})
    found = {str(a): int(s) for a, s in rows}
    return found.get(user_id, 0), found.get(staked_address(user_id), 0)


def _flow(key: str, kind: str, amount: int) -> Flow | None:
    if key.startswith(STAKE):
        return Flow.STAKE
    if key.startswith(UNSTAKE):
        return Flow.UNSTAKE
    if kind == "payout":
        return Flow.PAYMENT
    return Flow.IN if amount > 0 else Flow.OUT if amount < 0 else None


async def movements(ctx: RewardsContext, user_id: str, at: dt.datetime) -> list[Movement]:
    """The user's SFR movements up to `at`, each inflow with the market price at its time (the newest price at or
    before it; an inflow older than every price takes the first price; no price at all: None)."""
    rows = await ctx.db.rows(_ROWS, {"c": SFR, "a": user_id, "at": ctx.ms(at)})
    if not rows:
        return []
    prices = await ctx.db.rows(_PRICES, {"at": ctx.ms(at)})
    times = [int(ms) for ms, _ in prices]
    found: list[Movement] = []
    for key, ms, kind, amount in rows:
        flow = _flow(str(key), str(kind), int(amount))
        if flow is None:
            continue
        price: Decimal | None = None
        if flow is Flow.IN and prices:
            price = Decimal(prices[max(0, bisect.bisect_right(times, int(ms)) - 1)][1])
        found.append(Movement(int(ms), flow, abs(int(amount)), price))
    return found
