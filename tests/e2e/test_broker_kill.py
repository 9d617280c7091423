"""The embedded broker itself killed (kill -9) while it holds a backlog: `poolstream run` starts a new one,
the new broker says how many messages the old one held unconsumed (health, /metrics, its log) instead of
losing them silently, and shares produced afterwards are stored."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from poolstream import broker_service
from tests.e2e.harness import JsonProducer, System

pytestmark = pytest.mark.e2e


def health_report(system: System) -> dict[str, Any]:
    """The health report, healthy (200, `data`) or not (503, `error.details.report`)."""
    body = system.get("/api/v1/admin/health").json()
    report: dict[str, Any] = body["data"] if body.get("success") else body["error"]["details"]["report"]
    return report

MINER = "bc1qbrokerkill0producer000000000000000json"


def test_killed_broker_reports_its_loss_and_is_replaced(tmp_path: Path) -> None:
    system = System(tmp_path)
    system.env["EMBEDDED_BROKER_DIR"] = str(tmp_path / "data" / "broker")
    system.start(timeout=180)
    try:
        old = broker_service.read_record(system.broker_dir)
        assert old is not None
        system.simulate("--miners", "3000", "--workers", "10", "--duration", "600", "--seed", "4")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # kill once the broker's own sample shows a backlog
            health = health_report(system)
            lag = sum(int(t["lag"] or 0) for t in health["consumer_lag"])
            if lag > 0:
                break
            time.sleep(0.2)
        time.sleep(2.5)  # at least one sample of the backlog in the broker's stats
        os.kill(old.pid, signal.SIGKILL)

        def replaced_and_reported() -> bool:
            broker = health_report(system).get("broker") or {}
            return int(broker.get("lost_messages", 0)) > 0

        system.wait_for(replaced_and_reported, 60, "the new broker to report the loss")
        new = broker_service.read_record(system.broker_dir)
        assert new is not None and new.pid != old.pid and new.port == old.port
        health = health_report(system)
        assert any("lost" in w for w in health["warnings"]), health["warnings"]
        metrics = system.get("/metrics").text
        assert "poolstream_broker_lost_messages" in metrics
        broker_log = (system.broker_dir / "broker.log").read_text()
        assert "LOSS" in broker_log and "shares" in broker_log

        before = int(system.data("/api/v1/stats")["shares_24h"]["accepted"])
        producer = JsonProducer(system.bootstrap, MINER, "json", interval_s=0.01)
        producer.start()
        time.sleep(3.0)
        sent = producer.stop()
        assert sent > 0
        system.wait_for(lambda: int(system.data("/api/v1/stats")["shares_24h"]["accepted"]) >= before + sent, 120,
                        "shares produced after the broker restart to be stored")
        print(f"broker kill: lost {health['broker']['lost_messages']:,} messages (reported); "
              f"{sent} shares after the restart stored")
        assert system.stop() == 0
    finally:
        system.close()
