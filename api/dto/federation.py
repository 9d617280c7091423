"""Responses of the federation resource (seed 000/001 "Federation API"): this pool's peers are the Stratum
gateways feeding it (each with its `STRATUM_GATEWAY_ID` and `STRATUM_REGION`, carried on every share)."""

from __future__ import annotations

import datetime as dt

import msgspec


class Settlements(msgspec.Struct, frozen=True, kw_only=True):
    """Settlements between peers: none until the ledger exists (issue 9)."""

    pending: int = 0
    completed: int = 0


class FederationStatus(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed GET /federation/status
    node_id: str  # this node (the gateway id of this process, STRATUM_GATEWAY_ID)
    peers: int  # gateways with a share in the last 10 minutes (this node's own gateway included)
    reputation: float  # the pool's valid-share ratio over those 10 minutes (1.0 without shares)
    shared_hashrate: float  # H/s of all peers over the last 10 minutes
    settlements: Settlements
    # -- poolstream extras
    window_seconds: int


class Peer(msgspec.Struct, frozen=True, kw_only=True):
    # -- seed GET /federation/peers (one item)
    id: str  # the gateway id; `external` for shares published without one (external servers, simulator)
    name: str
    hashrate: float  # H/s over the last 10 minutes, summed over algorithms (Σd·F/T each)
    reputation: float  # accepted / all shares over the last 10 minutes
    location: str  # the gateway's region ("" when not set)
    latency: float | None  # ms; null: not measured (gateways push, nobody pings them)
    # -- poolstream extras
    accepted: int
    stale: int
    rejected: int
    algorithms: list[str]
    last_seen: dt.datetime
