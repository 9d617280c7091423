"""Payout DTOs (seed 004 payouts, the miner threshold). Amounts: integer base units plus a decimal string."""

from __future__ import annotations

import datetime as dt

import msgspec


class PayoutRecipient(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    amount_base_units: int
    amount_str: str


class PayoutOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # also the idempotency key carried by the send (wallet comment `poolstream:<id>`)
    coin: str
    state: str  # planned | sent | confirmed | failed
    origin: str  # scheduled | manual
    tx_hash: str
    error: str
    total_base_units: int
    total_str: str
    recipients: list[PayoutRecipient]
    created_at: dt.datetime
    updated_at: dt.datetime


class PayoutCreate(msgspec.Struct, frozen=True, kw_only=True):
    """POST /api/v1/payouts (admin): pay `amount` (decimal string, coin units) of the address's mature balance."""

    address: str
    coin: str
    amount: str


class PayoutCoinTotal(msgspec.Struct, frozen=True, kw_only=True):
    coin: str
    paid_base_units: int
    paid_str: str
    payouts: int
    last_payout_at: dt.datetime | None


class PayoutSummary(msgspec.Struct, frozen=True, kw_only=True):
    participant_id: int
    address: str
    total_payouts: int
    totals: list[PayoutCoinTotal]  # per coin, sent and confirmed payouts only


class ThresholdSet(msgspec.Struct, frozen=True, kw_only=True):
    coin: str
    amount: str  # decimal string, coin units


class Threshold(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    coin: str
    amount_base_units: int
    amount_str: str
    effective_base_units: int  # max(coin payout minimum, this threshold): what the settlement pays at
    effective_str: str = ""  # the same in coin units
