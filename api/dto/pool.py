"""Responses of the pool-wide resources: /stats and /algorithms."""

from __future__ import annotations

import msgspec

from api.dto.common import ShareCounts, WindowHashrate


class HardwareCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Workers seen in the last 24 h by the hardware hint of their latest share."""

    cpu: int
    gpu: int
    asic: int
    unknown: int


class PoolStats(msgspec.Struct, frozen=True, kw_only=True):
    hashrate_10m: WindowHashrate
    hashrate_24h: WindowHashrate
    active_miners: int  # a share (any status) in the last 10 minutes
    active_workers: int
    shares_24h: ShareCounts
    algorithms: list[str]  # known algorithms with a share in the last 24 h
    hardware: HardwareCounts


class AlgorithmInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    hashrate_factor: float  # F: hashes per unit of share difficulty
    hashrate_10m: float  # the pool's current hashrate on this algorithm, H/s


class AlgorithmCatalog(msgspec.Struct, frozen=True, kw_only=True):
    algorithms: list[AlgorithmInfo]
