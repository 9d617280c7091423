"""Responses of the miner resources: /miners/{address} and /miners/{address}/workers."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.dto.common import ReasonCount, ShareCounts, WindowHashrate


class WorkerCounts(msgspec.Struct, frozen=True, kw_only=True):
    active: int  # workers with a share in the last 10 minutes
    total_24h: int  # workers with a share in the last 24 h


class MinerStats(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    hashrate_10m: WindowHashrate
    hashrate_24h: WindowHashrate
    workers: WorkerCounts
    shares_24h: ShareCounts
    rejects_24h: list[ReasonCount]
    last_share: dt.datetime


class WorkerStats(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    hashrate_10m: WindowHashrate
    hashrate_24h: WindowHashrate
    shares_24h: ShareCounts
    last_share: dt.datetime
    hardware: str  # cpu, gpu, asic or unknown
    online: bool  # a share in the last 10 minutes


class MinerWorkers(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    workers: list[WorkerStats]  # every worker the miner ever used, by name
