"""Job `settlement`: every SETTLEMENT_INTERVAL_S (600 s), pay every mature balance at or above
max(coin payout minimum, the miner's own threshold), in batches, through a `PaymentProcessor`. Never twice:

1. Reconcile first: every `planned` payout is looked up in the wallet by its key (the send's comment). Found:
   it was sent; write its ledger rows and mark it `sent`. Not found: send it again with the SAME key.
2. Plan: one payout per batch of addresses, written `planned` (deterministic id) BEFORE anything is sent.
3. Send, with the key in the comment. Success: ledger `payout:<payout_id>:<address>` rows (negative) in one
   insert, then the payout `sent` with its tx hash. The wallet refused (SendFailed): `failed` with the error,
   no ledger rows (the balance is kept; the next run plans a new payout). Outcome unknown (SendUnknown, or the
   process dies): the payout stays `planned` and step 1 of the next run settles it.

A crash anywhere leaves either a `planned` payout (reconciled by key) or ledger rows whose key and dedup token
make a rewrite a no-op. A processor that can count confirmations (`ConfirmingProcessor`: bitcoind) moves
`sent` payouts to `confirmed` once the wallet reports PAYMENT_MINCONF (at least 1) of them. Addresses in a still-`planned` payout are never planned again. One run at a time per
process (a lock shared with manual payouts, POST /api/v1/payouts). A failed run is logged by the scheduler.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from clickhouse_connect.driver.client import Client

from schemas.clock import Clock, SystemClock
from schemas.coins import DEFAULT_COINS, Coin, coin
from schemas.payments import PaymentProcessor, SendFailed, SendUnknown
from sinks.ledger import LedgerEntry, LedgerWriter
from sinks.payouts import Payout, PayoutWriter, mature_balances, payout_count, payouts_in, planned, thresholds

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # one settlement (or manual payout) at a time in this process


@dataclass(frozen=True)
class SettlementRun:
    """What one run did, by payout id: reconciled (found sent in the wallet), sent, failed, left planned."""

    reconciled: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()  # sent payouts the wallet now reports with enough confirmations


@runtime_checkable
class ConfirmingProcessor(Protocol):
    """A processor that can tell whether a sent transaction has its confirmations (optional capability)."""

    def confirmed(self, coin: str, tx_hash: str) -> bool: ...


def payout_id(code: str, seq: int, recipients: Sequence[tuple[str, int]]) -> str:
    """Deterministic idempotency key: the coin, the payout's sequence number and its recipients."""
    spec = f"{code}|{seq}|" + ";".join(f"{a}={v}" for a, v in sorted(recipients))
    return f"{code.lower()}-{seq:08d}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"


def payable(balances: Mapping[str, int], minimum: int, own: Mapping[str, int],
            busy: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """(address, amount) of every balance at or above max(minimum, own threshold), not in a planned payout."""
    return [(a, v) for a, v in sorted(balances.items())
            if v > 0 and v >= max(minimum, own.get(a, 0)) and a not in busy]


def plan(code: str, due: Sequence[tuple[str, int]], *, seq: int, batch_max: int, now_ms: int,
         origin: str = "scheduled") -> list[Payout]:
    """Batches of at most `batch_max` recipients, numbered from `seq`."""
    batches = [tuple(due[i:i + batch_max]) for i in range(0, len(due), batch_max)]
    return [Payout(payout_id(code, seq + n, b), code, "planned", b, now_ms, now_ms, origin=origin)
            for n, b in enumerate(batches)]


def ledger_rows(p: Payout, now_ms: int) -> list[LedgerEntry]:
    """The payout's ledger rows: minus each amount, keyed `payout:<payout_id>:<address>`."""
    return [LedgerEntry(f"payout:{p.payout_id}:{a}", now_ms, p.coin, a, "payout", -v, payout_id=p.payout_id,
                        reason=f"payout {p.payout_id} tx {p.tx_hash}") for a, v in p.recipients]


@dataclass
class SettlementJob:
    client: Client
    processor: PaymentProcessor
    coins: Callable[[str], Coin] = coin
    codes: tuple[str, ...] = tuple(DEFAULT_COINS)
    batch_max: int = 100
    clock: Clock = field(default_factory=SystemClock)
    id: str = "settlement"
    interval_s: float = 600.0

    async def run(self) -> SettlementRun:
        return await asyncio.to_thread(self.run_once)

    def run_once(self) -> SettlementRun:
        with _LOCK:
            out: dict[str, list[str]] = {"reconciled": [], "sent": [], "failed": [], "unknown": [], "confirmed": []}
            self._confirm(out["confirmed"])
            for p in planned(self.client):  # 1. reconcile before planning anything
                tx = self.processor.find(p.coin, p.payout_id)
                if tx:
                    self._finish(p, tx)
                    out["reconciled"].append(p.payout_id)
                else:
                    self._record(self._send(p), out)
            for code in self.codes:  # 2-3. plan, then send
                c = self.coins(code)
                busy = frozenset(a for p in planned(self.client, c.code) for a, _ in p.recipients)
                due = payable(mature_balances(self.client, c.code), c.payout_minimum,
                              thresholds(self.client, c.code), busy)
                for p in plan(c.code, due, seq=payout_count(self.client, c.code), batch_max=self.batch_max,
                              now_ms=self.clock.now_ms()):
                    PayoutWriter(self.client).write(p)
                    self._record(self._send(p), out)
            run = SettlementRun(*(tuple(out[k]) for k in ("reconciled", "sent", "failed", "unknown", "confirmed")))
            if any(out.values()):
                log.info("settlement: %d reconciled, %d sent, %d failed, %d unknown", len(run.reconciled),
                         len(run.sent), len(run.failed), len(run.unknown))
            return run

    def pay(self, code: str, address: str, amount: int) -> Payout:
        """A manual payout (admin) through the same plan -> send -> ledger path; ValueError when `amount` is not
        in 1..mature balance or the address is in a planned payout."""
        with _LOCK:
            c = self.coins(code)
            mature = mature_balances(self.client, c.code).get(address, 0)
            if not 0 < amount <= mature:
                raise ValueError(f"amount must be in 1..{mature} (the mature balance, base units)")
            if any(a == address for p in planned(self.client, c.code) for a, _ in p.recipients):
                raise ValueError("the address is in a planned payout: wait for the settlement to reconcile it")
            p = plan(c.code, [(address, amount)], seq=payout_count(self.client, c.code), batch_max=1,
                     now_ms=self.clock.now_ms(), origin="manual")[0]
            PayoutWriter(self.client).write(p)
            return self._send(p)

    def _confirm(self, done: list[str]) -> None:
        if not isinstance(self.processor, ConfirmingProcessor):
            return
        for p in payouts_in(self.client, "sent"):
            try:
                if not self.processor.confirmed(p.coin, p.tx_hash):
                    continue
            except SendUnknown as exc:
                log.warning("payout %s: confirmations unknown, asked again next run: %s", p.payout_id, exc)
                continue
            PayoutWriter(self.client).write(p.moved("confirmed", self.clock.now_ms()))
            done.append(p.payout_id)

    def _send(self, p: Payout) -> Payout:
        try:
            tx = self.processor.send(p.coin, self.coins(p.coin).decimals, dict(p.recipients), p.payout_id)
        except SendFailed as exc:
            failed = p.moved("failed", self.clock.now_ms(), error=str(exc))
            PayoutWriter(self.client).write(failed)
            log.warning("payout %s failed: %s", p.payout_id, exc)
            return failed
        except SendUnknown as exc:
            log.warning("payout %s: outcome unknown, reconciled next run: %s", p.payout_id, exc)
            return p
        return self._finish(p, tx)

    def _finish(self, p: Payout, tx: str) -> Payout:
        now = self.clock.now_ms()
        sent = p.moved("sent", now, tx_hash=tx)
        LedgerWriter(self.client).write(ledger_rows(sent, now), now)  # ledger first: a crash here is reconciled
        PayoutWriter(self.client).write(sent)
        return sent

    @staticmethod
    def _record(p: Payout, out: dict[str, list[str]]) -> None:
        out[{"sent": "sent", "failed": "failed"}.get(p.state, "unknown")].append(p.payout_id)
