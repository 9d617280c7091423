"""`poolstream prices import` and `poolstream export tax-report` as a user runs them, on a data directory no
`poolstream run` holds: the CSV reconciles with the ledger to the base unit; a bad price row is one line
naming it; a held directory is one line saying to stop `poolstream run`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.coins import parse_decimal
from schemas.tax_formats import HEADERS
from tests.e2e.test_sql_cli import environment, poolstream

pytestmark = pytest.mark.e2e

ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
PAYOUTS = [123456789, 1, 99999999, 5000000000]
# Ledger rows are written by another process (chDB: one data directory per process, and this test process
# may hold the session's): payouts in 2025, one in 2024 that the report leaves out.
INSERT = f"""
import datetime as dt, os
from sinks.client import ClickHouseSettings, connect
c = connect(ClickHouseSettings(dsn=os.environ["CLICKHOUSE_DSN"]))
rows = [[f"payout:p{{i}}:a", dt.datetime(2025, 1 + i, 2, tzinfo=dt.UTC), "BTC", "{ADDRESS}", "payout", -a, "",
         f"p{{i}}", "payout", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)] for i, a in enumerate({PAYOUTS})]
rows.append(["payout:old:a", dt.datetime(2024, 5, 5, tzinfo=dt.UTC), "BTC", "{ADDRESS}", "payout", -7, "", "old",
             "payout", dt.datetime(2024, 5, 5, tzinfo=dt.UTC)])
c.insert("ledger", rows, column_names=["entry_key", "ts", "coin", "address", "kind", "amount", "block_hash",
                                       "payout_id", "reason", "created_at"])
os._exit(0)
"""


def test_prices_import_and_tax_report_export(tmp_path: Path) -> None:
    assert poolstream(tmp_path, "migrate").returncode == 0
    inserted = subprocess.run([sys.executable, "-c", INSERT], env=environment(tmp_path), capture_output=True,
                              text=True, timeout=120)
    assert inserted.returncode == 0, inserted.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("coin,fiat,timestamp,price,source\nBTC,JPY,2025-01-01T00:00:00Z,15000000,x\n"
                   "BTC,JPY,2025-01-02T00:00:00Z,1.5e7,x\n")
    refused = poolstream(tmp_path, "prices", "import", str(bad))
    assert refused.returncode == 2 and refused.stderr.startswith("poolstream: row 3: price")
    assert len(refused.stderr.strip().splitlines()) == 1

    good = tmp_path / "prices.csv"
    good.write_text("coin,fiat,timestamp,price,source\nBTC,JPY,2025-01-01T00:00:00Z,15000000,coingecko\n"
                    "BTC,JPY,2025-03-01T00:00:00,14000000.5,kraken\n")
    imported = poolstream(tmp_path, "prices", "import", str(good))
    assert imported.returncode == 0, imported.stderr
    assert "2 price(s) imported" in imported.stderr

    out = tmp_path / "report.csv"
    done = poolstream(tmp_path, "export", "tax-report", "--address", ADDRESS, "--year", "2025", "--fiat", "jpy",
                      "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "4 row(s)" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sum(parse_decimal(r["amount"], 8) for r in rows) == sum(PAYOUTS)
    assert [(r["fiat_price"], r["price_source"]) for r in rows[:3]] == [
        ("15000000", "coingecko"), ("15000000", "coingecko"), ("14000000.5", "kraken")]
    assert rows[0]["fiat_value"] == "18518518.35"

    koinly = poolstream(tmp_path, "export", "tax-report", "--address", ADDRESS, "--year", "2025", "--format",
                        "koinly")
    assert koinly.returncode == 0, koinly.stderr
    assert koinly.stdout.splitlines()[0] == ",".join(HEADERS["koinly"]) and len(koinly.stdout.splitlines()) == 5

    dsn = environment(tmp_path)["CLICKHOUSE_DSN"]
    holder = subprocess.Popen(  # holds the data directory as `poolstream run` does (see test_sql_cli)
        [sys.executable, "-c", "import time\nfrom sinks.client import ClickHouseSettings, connect\n"
         f"c = connect(ClickHouseSettings(dsn={dsn!r}))\nc.command('SELECT 1')\nprint('held', flush=True)\n"
         "time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        held = poolstream(tmp_path, "export", "tax-report", "--address", ADDRESS, "--year", "2025")
        assert held.returncode == 2 and "stop it to export" in held.stderr
        assert len(held.stderr.strip().splitlines()) == 1
        held = poolstream(tmp_path, "prices", "import", str(good))
        assert held.returncode == 2 and "stop it to import prices" in held.stderr
    finally:
        holder.kill()
        holder.wait(10)
