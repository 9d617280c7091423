"""Wiring of payouts: the settlement job and the manual-payout path of the API, from PAYMENT_* settings."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from jobs.settlement import SettlementJob
from poolstream.settings import Settings
from schemas.coins import DEFAULT_COINS
from sources.wallet import processor


def settlement_job(settings: Settings, client: Client) -> SettlementJob:
    """The scheduled settlement (every SETTLEMENT_INTERVAL_S) through the PAYMENT_PROCESSOR; its `pay` is the
    manual payout of POST /api/v1/payouts (same plan -> send -> ledger path, same lock)."""
    p = settings.payments
    return SettlementJob(client, processor(p), coins=settings.coins.coin, codes=p.coin_codes or tuple(DEFAULT_COINS),
                         batch_max=p.batch_max, interval_s=p.settlement_interval_s)
