"""Bounded broker memory: with a low recycle threshold the embedded broker is recycled several times while a
simulated fleet streams Arrow batches and a JSON producer streams one share per message; every share is
stored exactly once, and the stats file shows the recycles and the producers' pauses."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.e2e.harness import JsonProducer, System

pytestmark = pytest.mark.e2e

MINER = "bc1qrecycle0producer00000000000000000json"


def test_recycled_broker_loses_nothing(tmp_path: Path) -> None:
    system = System(tmp_path)
    system.env["EMBEDDED_BROKER_DIR"] = str(tmp_path / "data" / "broker")
    system.env["EMBEDDED_BROKER_RECYCLE_MB"] = os.environ.get("RECYCLE_TEST_MB", "24")
    system.start(timeout=180)
    producer: JsonProducer | None = None
    try:
        producer = JsonProducer(system.bootstrap, MINER, "json", interval_s=0.002)
        producer.start()
        report = system.simulate("--miners", os.environ.get("RECYCLE_TEST_MINERS", "1200"), "--workers", "10",
                                 "--duration", "600", "--seed", "11")
        deadline = time.monotonic() + 120
        stats: dict[str, object] = {}
        while time.monotonic() < deadline:
            stats = json.loads((system.broker_dir / "stats.json").read_text())
            if int(str(stats["recycles"])) >= 2:
                break
            time.sleep(1.0)
        sent = producer.stop()
        produced = report["accepted_valid"] + sent
        system.wait_for(lambda: int(system.data("/api/v1/stats")["shares_24h"]["accepted"]) >= produced, 300,
                        "every share to be stored")
        time.sleep(2.0)
        assert system.stop() == 0
        stats = json.loads((system.broker_dir / "stats.json").read_text())
        rows, distinct = system.clickhouse("SELECT count() FROM shares", "SELECT uniqExact(share_key) FROM shares")
        print(f"recycle: {stats['recycles']} recycles (last pause {float(str(stats['last_pause_s'])):.2f}s), "
              f"produced {produced:,}, stored {rows:,}, distinct {distinct:,}")
        assert int(str(stats["recycles"])) >= 2, f"recycles {stats['recycles']}, blocked: {stats['blocked']!r}, memory {stats['rss_bytes']}"
        assert rows == produced and distinct == rows
    finally:
        if producer is not None and producer.is_alive():
            producer.stop()
        system.close()
