"""Tax-export speed: a year's generic tax CSV for one miner with 10,000 payout ledger rows (target <= 1 s).

Builds a throw-away chDB with the miner's year: 10,000 payouts (one every ~52 minutes), a block credit before
each (so every payout row lists its block height) and an hourly USD price series; then times
`report_rows` + `csv_lines` (the API's and the CLI's path) and checks the CSV's amounts sum back to the
ledger's payouts to the base unit. `python -m bench.tax_export` prints the figures; `run()` returns them.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from decimal import Decimal

from clickhouse_connect.driver.client import Client

PAYOUTS = 10_000
YEAR = 2025
ADDRESS = "bc1qtaxbench000000000000000000000000000"


def _fill(client: Client, payouts: int) -> int:
    from api.services.prices import COLUMNS
    from schemas.rows import BLOCK_COLUMNS
    from sinks.ledger import LedgerEntry, LedgerWriter

    start = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=365) / payouts
    entries, blocks = [], []
    total = 0
    for i in range(payouts):
        at = start + step * i
        ms = int(at.timestamp() * 1000)
        h = f"{i:064x}"
        amount = 100_000 + i
        total += amount
        blocks.append([h, 800_000 + i, at, "sha256d", "BTC", ADDRESS, "w", 312_500_000, 1.0, 1.0, "confirmed", "j",
                       "", at])
        entries.append(LedgerEntry(f"credit:{h}:{ADDRESS}", ms, "BTC", ADDRESS, "credit", amount, h))
        entries.append(LedgerEntry(f"payout:p{i}:{ADDRESS}", ms + 60_000, "BTC", ADDRESS, "payout", -amount,
                                   payout_id=f"p{i}"))
    client.insert("blocks", blocks, column_names=BLOCK_COLUMNS)
    LedgerWriter(client).write(entries, int(time.time() * 1000))
    prices = [("BTC", "USD", start + dt.timedelta(hours=h), Decimal(60_000 + h) / 7, "bench", start)
              for h in range(366 * 24)]
    client.insert("prices", prices, column_names=COLUMNS)
    return total


def run(payouts: int = PAYOUTS, repeat: int = 3) -> dict[str, float]:
    from api.services.tax_report import ReportQuery, csv_lines, report_rows
    from sinks.client import ClickHouseSettings, connect
    from sinks.migrate import migrate

    with tempfile.TemporaryDirectory(prefix="bench-tax-") as directory:
        client = connect(ClickHouseSettings(dsn=f"chdb://{directory}", database="bench"))
        try:
            migrate(client)
            total = _fill(client, payouts)
            query = ReportQuery(addresses=(ADDRESS,), year=YEAR, fmt="generic", fiat="USD")
            times, lines = [], 0
            for _ in range(repeat):
                began = time.perf_counter()
                rows = report_rows(client, query)
                lines = sum(1 for _ in csv_lines("generic", rows))
                times.append((time.perf_counter() - began) * 1000)
            assert lines == payouts + 1, f"{lines} CSV lines for {payouts} payouts"
            assert sum(r.amount for r in rows) == total, "the report does not sum to the ledger's payouts"
        finally:
            client.close()
    figures = {f"tax export, 1 year, {payouts:,} payouts, generic CSV, ms": statistics.median(times)}
    for name, value in figures.items():
        print(f"tax {name}: {value:,.1f}")
    return figures


if __name__ == "__main__":
    run()
    sys.exit(0)
