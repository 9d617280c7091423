"""Job `alert_notify`: deliver alert events to ALERT_WEBHOOK_URLS and, for registered mobile devices whose
preferences want them, to PUSH_GATEWAY_URL (opened alerts, blocks found, payments sent).

Each run (every NOTIFY_INTERVAL_S): (1) turns the events of the last EVENT_LOOKBACK that have no outbox row
for a target into `pending` rows of `alert_deliveries` (their delivery id is a hash of event and target, so
an event is enqueued once per target); (2) POSTs the due pending rows concurrently, signed
(`notify.signing`), and writes each one's next version: delivered on 2xx, else retried with exponential
backoff (`notify.outbox.Backoff`) until the last attempt marks it failed. The outbox is in ClickHouse, so
pending deliveries survive a restart; the evaluator never waits for HTTP (this is a separate job). It is the
only writer of `alert_deliveries` and `alert_delivery_attempts`. Delivery is at least once: a crash between a
POST and its row being written repeats that POST (receivers dedupe on the alert id and event).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from clickhouse_connect.driver.client import Client

from jobs.reward_events import reward_deliveries
from notify.bodies import Device, push_body, webhook_body
from notify.outbox import DELIVERY_COLUMNS, PENDING, Backoff, Delivery, delivery_from_row, new_delivery
from notify.sender import post_signed
from schemas.alerts import ALERT_CLEARED, ALERT_COLUMNS, ALERT_OPENED, Alert, alert_from_row
from schemas.clock import Clock, SystemClock
from schemas.coins import DEFAULT_COINS, to_decimal
from schemas.notifications import (
    BLOCK_FOUND,
    PAYMENT_SENT,
    PREFERENCE_FIELDS,
    Preferences,
    preferences_of,
    wants_alert,
    wants_event,
)

log = logging.getLogger(__name__)

NOTIFY_INTERVAL_S = 5.0
#: Alert events this recent are enqueued (older ones were, or predate the targets).
EVENT_LOOKBACK = dt.timedelta(days=1)
#: Blocks found and payments sent this recent are pushed.
POOL_EVENT_LOOKBACK = dt.timedelta(hours=1)

_ALERTS = (f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL "
           "WHERE updated_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') ORDER BY updated_at, id")
_DEVICES = (
    "SELECT d.device_token, d.platform, d.miner_address, p.device_token != '', "
    + ", ".join(f"p.{f}" for f in PREFERENCE_FIELDS)
    + " FROM mobile_devices AS d FINAL LEFT JOIN notification_preferences AS p FINAL ON p.device_token = d.device_token "
    "WHERE d.active = 1 SETTINGS join_use_nulls = 0"
)
_BLOCKS = ("SELECT hash, coin, height, miner FROM blocks WHERE status = 'found' "
           "AND updated_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') ORDER BY updated_at LIMIT 1000")
_PAYOUTS = ("SELECT payout_id, coin, addresses, amounts, tx_hash FROM payouts FINAL WHERE state = 'sent' "
            "AND updated_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') LIMIT 1000")
_EXISTING = "SELECT delivery_id FROM alert_deliveries WHERE delivery_id IN {ids:Array(String)}"
_DUE = (f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM alert_deliveries FINAL WHERE state = '{PENDING}' "
        "AND next_attempt_at <= fromUnixTimestamp64Milli({now:Int64}, 'UTC') ORDER BY next_attempt_at LIMIT {n:UInt32}")


@dataclass(frozen=True)
class NotifyRun:
    enqueued: int
    attempted: list[Delivery]  # the new versions written


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class NotifyJob:
    client: Client
    webhook_urls: Sequence[str]
    secret: str
    push_url: str = ""
    clock: Clock = field(default_factory=SystemClock)
    backoff: Backoff = field(default_factory=Backoff)
    timeout_s: float = 5.0
    batch: int = 200
    id: str = "alert_notify"
    interval_s: float = NOTIFY_INTERVAL_S

    async def run(self) -> NotifyRun:
        now = self.clock.now()
        enqueued = await asyncio.to_thread(self.enqueue, now)
        due = await asyncio.to_thread(self._due, now)
        attempted = await self._send(due, now) if due else []
        return NotifyRun(enqueued, attempted)

    # ---- (1) enqueue ---------------------------------------------------------------------------------------

    def enqueue(self, now: dt.datetime) -> int:
        """Write a pending row for every recent event and target that has none; returns how many."""
        if not self.webhook_urls and not self.push_url:
            return 0
        candidates = self._candidates(now)
        if not candidates:
            return 0
        ids = [d.delivery_id for d in candidates]
        have = {str(r[0]) for r in self.client.query(_EXISTING, parameters={"ids": ids}).result_rows}
        fresh = {d.delivery_id: d for d in candidates if d.delivery_id not in have}
        if fresh:
            self.client.insert("alert_deliveries", [[getattr(d, c) for c in DELIVERY_COLUMNS] for d in fresh.values()],
                               column_names=list(DELIVERY_COLUMNS))
        return len(fresh)

    def _candidates(self, now: dt.datetime) -> list[Delivery]:
        alerts = [alert_from_row(r) for r in self.client.query(
            _ALERTS, parameters={"since": _ms(now - EVENT_LOOKBACK)}).result_rows]
        found: list[Delivery] = []
        for a in alerts:
            events = [(ALERT_OPENED, dataclasses.replace(a, cleared_at=None))]
            events += [(ALERT_CLEARED, a)] if a.cleared_at is not None else []
            for event, alert in events:
                body = webhook_body(event, alert.as_json())
                found += [new_delivery(f"{alert.id}:{event}", event, "webhook", url, body, now) for url in self.webhook_urls]
        if self.push_url:
            found += self._pushes(alerts, now)
        found += reward_deliveries(self.client, self.webhook_urls, now - EVENT_LOOKBACK, now)  # SFR (issue 11)
        return found

    def _devices(self) -> list[tuple[Device, str, Preferences]]:
        found = []
        for token, platform, address, has_prefs, *prefs in self.client.query(_DEVICES).result_rows:
            p = preferences_of(prefs) if has_prefs else Preferences()
            found.append((Device(str(token), str(platform)), str(address), p))
        return found

    def _pushes(self, alerts: Sequence[Alert], now: dt.datetime) -> list[Delivery]:
        devices = self._devices()
        if not devices:
            return []
        found = []

        def add(key: str, event: str, to: list[Device], title: str, text: str, data: dict[str, Any]) -> None:
            if to:
                found.append(new_delivery(key, event, "push", self.push_url, push_body(event, to, title, text, data), now))

        for a in alerts:
            to = [d for d, address, p in devices if address == a.miner and wants_alert(p, a.kind, a.value)]
            add(f"{a.id}:{ALERT_OPENED}:push", ALERT_OPENED, to, f"{a.worker or a.miner}: {a.kind.replace('_', ' ')}",
                a.message, {"alert": a.as_json()})
        since = {"since": _ms(now - POOL_EVENT_LOOKBACK)}
        for hash_, coin, height, miner in self.client.query(_BLOCKS, parameters=since).result_rows:
            to = [d for d, _, p in devices if wants_event(p, BLOCK_FOUND)]
            add(f"block:{hash_}:found", BLOCK_FOUND, to, f"Block found: {coin} #{height}", f"found by {miner}",
                {"hash": str(hash_), "coin": str(coin), "height": int(height)})
        for payout_id, coin, addresses, amounts, tx_hash in self.client.query(_PAYOUTS, parameters=since).result_rows:
            paid = dict(zip(addresses, amounts, strict=False))
            for address, units in sorted(paid.items()):
                to = [d for d, a, p in devices if a == address and wants_event(p, PAYMENT_SENT)]
                decimals = DEFAULT_COINS[coin].decimals if coin in DEFAULT_COINS else 8
                add(f"payment:{payout_id}:{address}", PAYMENT_SENT, to, f"Payment sent: {to_decimal(int(units), decimals)} {coin}",
                    f"tx {tx_hash}", {"payout_id": str(payout_id), "coin": str(coin), "address": str(address),
                                      "amount_base_units": int(units), "tx_hash": str(tx_hash)})
        return found

    # ---- (2) send --------------------------------------------------------------------------------------------

    def _due(self, now: dt.datetime) -> list[Delivery]:
        rows = self.client.query(_DUE, parameters={"now": _ms(now), "n": self.batch}).result_rows
        return [delivery_from_row(r) for r in rows]

    async def _send(self, due: Sequence[Delivery], now: dt.datetime) -> list[Delivery]:
        timestamp = int(now.timestamp())
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            async def one(d: Delivery) -> tuple[Delivery, int, str, int]:
                started = time.monotonic()
                status, error = await post_signed(http, d.target, d.body, self.secret, timestamp)
                return d, status, error, int((time.monotonic() - started) * 1000)

            results = await asyncio.gather(*(one(d) for d in due))
        done = self.clock.now()
        versions = [d.after_attempt(status, error, done, self.backoff) for d, status, error, _ in results]
        attempts = [[v.delivery_id, v.attempts, done, status, error[:500], ms]
                    for v, (_, status, error, ms) in zip(versions, results, strict=True)]
        await asyncio.to_thread(self._record, versions, attempts)
        for v in versions:
            if v.state != "delivered":
                log.warning("delivery %s to %s: attempt %d %s (%s)", v.event_key, v.target, v.attempts, v.state,
                            v.last_error)
        return versions

    def _record(self, versions: list[Delivery], attempts: list[list[Any]]) -> None:
        self.client.insert("alert_deliveries", [[getattr(d, c) for c in DELIVERY_COLUMNS] for d in versions],
                           column_names=list(DELIVERY_COLUMNS))
        self.client.insert("alert_delivery_attempts", attempts,
                           column_names=["delivery_id", "attempt", "at", "status", "error", "duration_ms"])
