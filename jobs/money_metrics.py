"""Job `money_metrics`: refresh the money gauges of the default Prometheus registry (served at /metrics).

- `poolstream_blocks{status}`: blocks by current status (found, confirmed, orphaned; the newest row per hash);
- `poolstream_ledger_base_units{coin,kind}`: Σ ledger amounts per coin and kind (signed base units: payouts
  and reversals negative);
- `poolstream_payouts{state}`: payouts by state (planned, sent, failed, confirmed), when the `payouts` table
  exists.
Three small GROUP BY reads per run (default every 30 s), never on the scrape path.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

_BLOCKS = ("SELECT status, count() FROM (SELECT hash, argMax(status, updated_at) AS status FROM blocks GROUP BY hash) "
           "GROUP BY status")
_LEDGER = "SELECT coin, kind, sum(amount) FROM ledger FINAL GROUP BY coin, kind"
_PAYOUTS = "SELECT state, count() FROM payouts FINAL GROUP BY state"
_HAS_PAYOUTS = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'payouts'"


@dataclass(frozen=True)
class MoneyGauges:
    blocks: Gauge
    ledger: Gauge
    payouts: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry = REGISTRY) -> MoneyGauges:
        return cls(Gauge("poolstream_blocks", "Blocks by current status", ["status"], registry=registry),
                   Gauge("poolstream_ledger_base_units", "Ledger sum per coin and kind (signed base units)",
                         ["coin", "kind"], registry=registry),
                   Gauge("poolstream_payouts", "Payouts by state", ["state"], registry=registry))


_DEFAULT: MoneyGauges | None = None


def default_gauges() -> MoneyGauges:
    """The gauges in the default registry (registered once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MoneyGauges.register()
    return _DEFAULT


@dataclass
class MoneyMetricsJob:
    client: Client
    gauges: MoneyGauges
    id: str = "money_metrics"
    interval_s: float = 30.0

    async def run(self) -> None:
        await asyncio.to_thread(self.run_once)

    def run_once(self) -> None:
        blocks = self.client.query(_BLOCKS).result_rows
        ledger = self.client.query(_LEDGER).result_rows
        has_payouts = int(self.client.query(_HAS_PAYOUTS).result_rows[0][0]) > 0
        payouts = self.client.query(_PAYOUTS).result_rows if has_payouts else []
        _set(self.gauges.blocks, {(str(s),): int(n) for s, n in blocks})
        _set(self.gauges.ledger, {(str(c), str(k)): int(v) for c, k, v in ledger})
        _set(self.gauges.payouts, {(str(s),): int(n) for s, n in payouts})


def _set(gauge: Gauge, values: dict[tuple[str, ...], int]) -> None:
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
