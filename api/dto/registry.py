"""Requests and responses of the registry: participants and workers (seed 004 names), worker registration,
commands and optimization batches (seed 001 names). Write bodies refuse unknown fields (a typo is a 400,
not a silently ignored setting)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Short = Annotated[str, msgspec.Meta(max_length=128)]
Host = Annotated[str, msgspec.Meta(max_length=255)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Instance = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Coefficient = Annotated[float, msgspec.Meta(gt=0, le=1000)]


# ---- participants ----------------------------------------------------------------------------------------


class ParticipantCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Seed 004: `ton_wallet_address` is, for this pool, the miner's payout address (`address` is accepted too)."""

    ton_wallet_address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    telegram_user_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    username: Short = ""
    email: Annotated[str, msgspec.Meta(max_length=254)] = ""


class Participant(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    ton_wallet_address: str  # seed 004's name for the payout address
    address: str  # the same address under the pool's own name
    telegram_user_id: int | None
    username: str
    email: str
    owner: str  # the API user that created it
    is_active: bool
    total_workers: int  # registered, not deleted
    active_workers: int  # registered workers with an accepted share in the last 10 minutes
    total_revenue: int  # base units of the coin; 0 until the ledger (issue 9)
    total_revenue_ton: int  # seed 004's name for the same figure; 0 until the ledger
    total_payouts: int  # 0 until the ledger
    created_at: dt.datetime
    updated_at: dt.datetime


# ---- workers ---------------------------------------------------------------------------------------------


class WorkerCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Seed 001 (`name, hardware_type, algorithm, currency`) and seed 004 (`participant_id, worker_name,
    instance_number, host, stats_port, price_coefficient`) bodies, in any mix. Without `participant_id` or
    `address` the caller's only participant is used."""

    name: Name | None = None
    worker_name: Name | None = None
    participant_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    instance_number: Instance = 0
    host: Host = ""
    stats_port: Port = 0
    price_coefficient: Coefficient = 1.0
    hardware_type: Annotated[str, msgspec.Meta(max_length=16)] = ""
    algorithm: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    currency: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    config: dict[str, Any] | None = None
    is_active: bool = True


class WorkerUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """PUT (seed 001: `name`, `config`) and PATCH (seed 004: `is_active`, `price_coefficient`, ...): only the
    fields sent change; `participant_id` links a worker registered without one."""

    name: Name | None = None
    participant_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    worker_name: Name | None = None
    instance_number: Instance | None = None
    host: Host | None = None
    stats_port: Port | None = None
    price_coefficient: Coefficient | None = None
    hardware_type: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    config: dict[str, Any] | None = None
    is_active: bool | None = None


class Worker(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    participant_id: int
    worker_name: str  # seed 004
    name: str  # seed 001 (the same name)
    address: str
    stratum_user: str  # `address.worker_name`: what the rig logs in with
    stratum_url: str
    instance_number: int
    host: str
    stats_port: int
    price_coefficient: float
    hardware_type: str
    algorithm: str
    currency: str
    config: dict[str, Any]
    is_active: bool
    registered: bool  # always true here; unregistered workers appear under /miners/{address}/workers
    status: str  # online | offline: an accepted share in the last 10 minutes
    latest_status: str  # seed 004: healthy (online) | offline | unknown (never mined)
    hashrate: float  # H/s over the last 10 minutes, on its algorithm
    last_share: dt.datetime | None
    latest_gpu_utilization: float | None  # mean GPU utilization (%) of its last telemetry readings (10 min)
    latest_revenue_ton: int  # 0 until the ledger (issue 9)
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkerRegistered(msgspec.Struct, frozen=True, kw_only=True):
    """Seed 001's answer to `POST /workers`; `token` is shown this once (only its hash is stored)."""

    id: int
    name: str
    worker_name: str
    token: str
    stratum_url: str
    stratum_user: str
    participant_id: int
    address: str
    algorithm: str
    currency: str


class Deleted(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    deleted: bool


# ---- commands --------------------------------------------------------------------------------------------


class CommandRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    command: Annotated[str, msgspec.Meta(max_length=64)]
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)


class CommandAck(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Literal["done", "failed"]
    result: Any = None


class Command(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    worker_id: int
    command: str
    parameters: dict[str, Any]
    status: str  # queued | delivered | acked | failed
    result: Any
    optimization_id: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    acked_at: dt.datetime | None


# ---- optimization ----------------------------------------------------------------------------------------


class OptimizationStart(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Seed 001/000. Without `hardware_type`/`algorithm` every active worker of the caller matches."""

    hardware_type: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    algorithm: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    optimization_level: Literal["conservative", "balanced", "aggressive"] = "balanced"
    safety_mode: bool = True


class OptimizationStarted(msgspec.Struct, frozen=True, kw_only=True):
    optimization_id: str  # `opt_<n>` (seed 001's form)
    status: str  # running
    estimated_duration: int  # seconds
    workers: int
    commands: int


class OptimizationResults(msgspec.Struct, frozen=True, kw_only=True):
    hashrate_improvement: float  # % change of the workers' 10-min hashrate: before the start vs now
    power_efficiency_gain: float  # % change of hashes per watt (telemetry); 0 without power readings
    memory_optimization: str  # update_config: applied | pending | failed
    thermal_optimization: str  # set_power_limit: applied | pending | failed
    commands: int
    acked: int
    failed: int
    pending: int


class OptimizationStatus(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str  # running | completed | failed
    progress: int  # % of its commands answered (acked or failed)
    results: OptimizationResults
    optimization_level: str
    workers: int
    created_at: dt.datetime
