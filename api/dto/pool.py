"""Responses of the pool-wide resources: /stats and /algorithms (seed 001 "Pool Information").

Every field of the seed's examples is present with the example's JSON type; the fields after them are
poolstream's richer per-window figures (extra fields are allowed by the contract).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from api.dto.common import ShareCounts, WindowHashrate


class HardwareCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Workers with accepted work in the last 24 h by the hardware hint of their latest share."""

    cpu: int
    gpu: int
    asic: int
    unknown: int


class HardwareStats(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `hardware_stats`: workers (rigs) with accepted work in the last 24 h per hardware class."""

    cpu_miners: int
    gpu_miners: int
    asic_miners: int


class LastBlock(msgspec.Struct, frozen=True, kw_only=True):
    height: int
    hash: str
    found_at: dt.datetime
    reward: float  # coin units (seed); exact amount in `reward_base_units` / `reward_str`
    reward_base_units: int
    reward_str: str
    currency: str


class Federation(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `federation`: Stratum gateways feeding this pool seen lately, their hashrate, their valid-share
    ratio. Without a federation source: 0 peers, 0 H/s, reputation 1.0."""

    peers: int = 0
    shared_hashrate: float = 0.0
    reputation: float = 1.0


class PoolStats(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /stats
    hashrate: float  # H/s over the last 10 minutes, summed over algorithms
    miners: int  # miners with accepted work in the last 10 minutes
    workers: int  # workers with accepted work in the last 10 minutes
    blocks_found: int  # blocks found by the pool and not orphaned
    last_block: LastBlock | None
    currencies: list[str]  # coins the served algorithms mine (BTC, LTC, DOGE)
    algorithms: list[str]  # served algorithms, seed names (SHA256d, Scrypt)
    federation: Federation
    hardware_stats: HardwareStats
    # -- poolstream extras
    hashrate_24h: float  # H/s over the last 24 h, summed over algorithms
    hashrate_10m: WindowHashrate
    hashrate_24h_detail: WindowHashrate
    shares_24h: ShareCounts
    algorithms_24h: list[str]  # wire names of the algorithms with a share in the last 24 h
    hardware: HardwareCounts
    updated_at: dt.datetime  # when the snapshot these figures come from was taken


class AlgorithmInfo(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed 001 GET /algorithms (one item)
    name: str  # seed name: SHA256d, Scrypt, ...
    currencies: list[str]
    ports: list[int]  # Stratum ports serving it
    difficulty: float  # the ports' starting share difficulty
    hashrate: float  # the pool's H/s on it over the last 10 minutes
    hardware_types: list[str]  # CPU, GPU, ASIC
    stratum_version: str  # "v1"
    # -- poolstream extras
    wire_name: str  # the name events and tables carry (sha256d, scrypt)
    hashrate_factor: float  # F: hashes per unit of share difficulty (DOMAIN.md)
    min_difficulty: float
    max_difficulty: float
