"""Responses of the miner resources (seed 001 "Miner Operations"): /miners/{address}, its workers and its
payments. Seed fields first, with the seed's JSON types; poolstream's per-window detail after them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from api.dto.common import ReasonCount, ShareCounts, WindowHashrate


class MinerStats(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /miners/{address}
    address: str
    hashrate: float  # H/s over the last 10 minutes, summed over algorithms
    hashrate_24h: float  # H/s over the last 24 h, summed over algorithms
    workers: int  # workers with accepted work in the last 10 minutes
    shares: ShareCounts  # over the last 24 h
    balance: float  # coin units (display only): the mature balance, `balance_base_units` exact
    paid: float  # coin units (display only): Σ payouts, `paid_base_units` exact
    last_share: dt.datetime
    # -- poolstream extras
    workers_24h: int  # workers with a share (any status) in the last 24 h
    hashrate_10m: WindowHashrate
    hashrate_24h_detail: WindowHashrate
    rejects_24h: list[ReasonCount]
    updated_at: dt.datetime  # when these figures were computed
    # -- the ledger (issue 9): integers in the coin's base unit, decimal strings beside them
    currency: str = ""  # the coin of the balance ("" before the miner's first credit)
    balance_base_units: int = 0  # mature: credits of confirmed blocks + adjustments - payouts
    balance_str: str = "0"
    pending_base_units: int = 0  # credits of blocks not yet confirmed
    pending_str: str = "0"
    paid_base_units: int = 0
    paid_str: str = "0"


class ActiveMiner(msgspec.Struct, frozen=True, kw_only=True):
    """GET /miners (admin, one item): a miner with a share in the last 24 h, from the pool snapshot."""

    address: str
    hashrate: float  # H/s over the last 10 minutes
    hashrate_24h: float
    workers: int  # online: accepted work in the last 10 minutes
    workers_24h: int
    shares: ShareCounts  # over the last 24 h
    last_share: dt.datetime


class WorkerStats(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /miners/{address}/workers (one item)
    name: str
    hashrate: float  # H/s over the last 10 minutes, summed over algorithms
    shares_accepted: int  # over the last 24 h
    shares_rejected: int  # over the last 24 h, every reason but stale (`shares_stale`)
    last_share: dt.datetime
    status: Literal["online", "offline"]  # online: accepted work in the last 10 minutes
    # -- poolstream extras
    registered: bool  # a worker of the registry (POST /workers) carries this address and name
    hardware: str  # cpu, gpu, asic or unknown
    hashrate_24h: float
    shares_stale: int
    hashrate_10m: WindowHashrate
    hashrate_24h_detail: WindowHashrate
    shares_24h: ShareCounts
    # -- hardware telemetry (issue 13): the latest reading of each of the worker's devices in the last 10 minutes
    temperature: float | None = None  # °C, mean over its devices; null when none reported one
    temperature_max: float | None = None  # °C, its hottest device


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    """Seed 001 GET /miners/{address}/payments (one item). No payment exists before the ledger of issue 9."""

    id: str
    amount: float  # coin units
    amount_base_units: int
    tx_hash: str
    timestamp: dt.datetime
    status: str
