"""Responses of /blocks (seed 001 "Block Information") and /monitoring/hardware ("Enterprise Monitoring")."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.dto.hardware import AlgorithmHardware, ClassEfficiency


class BlockInfo(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /blocks (one item)
    height: int
    hash: str
    currency: str
    reward: float  # coin units, as the seed shows; exact in `reward_base_units` and `reward_str`
    found_by: str  # the miner's address
    found_at: dt.datetime
    confirmations: int  # at the maturity job's last check (0 until it checked)
    status: str  # found (pending), confirmed or orphaned
    # -- poolstream extras
    reward_base_units: int  # satoshi, litoshi, koinu: the exact amount
    reward_str: str  # the exact amount in coin units as a decimal string
    algorithm: str  # seed name
    worker: str
    #: Σ accepted share difficulty of the algorithm since the previous block / network difficulty (1.0 = the
    #: expected work); null in lists that do not compute it or without a network difficulty
    effort: float | None = None


class MinerBlock(BlockInfo, frozen=True, kw_only=True):
    """GET /miners/{address}/blocks (one item): a block the miner found or was credited a part of (PPLNS)."""

    credited: bool = False  # the credits job settled the block and this miner has a credit row in it
    credit_base_units: int = 0  # the miner's credit of the block's reward (0 before settlement)
    credit_str: str = "0"
    #: credit / reward (0..1): the miner's part of the block's reward; null until the block is settled
    share: float | None = None


class HardwareClassStats(msgspec.Struct, frozen=True, kw_only=True):
    count: int  # workers of the class with accepted work in the last 24 h
    total_hashrate: float  # their H/s over the last 10 minutes, summed over algorithms
    avg_temperature: float | None  # °C, mean of the latest reading per device (10 min); null without telemetry
    power_consumption: float | None  # W, sum of the latest reading per device (10 min); null without telemetry
    devices_reporting: int  # devices with a telemetry reading in the last 10 minutes
    efficiency: list[ClassEfficiency] = []  # per algorithm (issue 10), api.services.hardware


class HardwareReport(msgspec.Struct, frozen=True, kw_only=True):
    """Seed 001 GET /monitoring/hardware."""

    cpu_miners: HardwareClassStats
    gpu_miners: HardwareClassStats
    asic_miners: HardwareClassStats
    unknown: HardwareClassStats  # workers whose miner software told no class (extra)
    updated_at: dt.datetime
    by_algorithm: list[AlgorithmHardware] = []  # rollup per algorithm (issue 10)
