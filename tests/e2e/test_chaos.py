"""Chaos: `kill -9` of `poolstream run` at random moments — while it consumes (mid-batch, mid-INSERT), during
its startup and during its drain — while a simulated fleet streams Arrow batches and a JSON producer streams
one share per message. The embedded broker is its own process and outlives every kill. At the end ClickHouse
holds every share exactly once: rows = produced, no share_key twice, rollups equal to the raw rows.

Not in `make test`: `make chaos` runs it (default ≥ 10M shares, ≥ 10 kills), sized by CHAOS_MINERS
(x 10 workers x 600 s ≈ 610 shares per miner) and CHAOS_KILLS; `make chaos ARGS="-k short"` is a 3-kill run.
Known finding (issue 7, open): a kill in the middle of one INSERT can leave a chained rollup (`shares_1h`, fed
from `shares_1m`) short of the raw rows, which are exact; this test reports it.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import JsonProducer, System

pytestmark = pytest.mark.e2e

MINER = "bc1qchaos0producer000000000000000000000json"


def kill_at_random(system: System, rng: random.Random) -> str:
    """One kill -9 at a random moment; returns which kind of moment it was. poolstream runs again after."""
    moment = rng.choice(["consuming", "consuming", "startup", "drain"])
    if moment == "consuming":
        time.sleep(rng.uniform(0.1, 2.5))
        system.kill()
    elif moment == "startup":
        system.kill()
        system.start_nowait()
        time.sleep(rng.uniform(0.2, 5.0))
        system.kill()
    else:
        assert system.proc is not None
        system.proc.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0.05, 1.5))
        system.kill()  # a drain that finished first was a clean stop: the broker keeps what is queued
    system.start(timeout=180)
    return moment


def chaos(tmp_path: Path, miners: int, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    system = System(tmp_path)
    system.env["EMBEDDED_BROKER_DIR"] = str(tmp_path / "data" / "broker")
    system.start(timeout=180)
    json_producer: JsonProducer | None = None
    try:
        simulation = system.simulation("--miners", str(miners), "--workers", "10", "--duration", "600",
                                       "--seed", str(seed))
        json_producer = JsonProducer(system.bootstrap, MINER, "json", interval_s=0.005)
        json_producer.start()
        moments = [kill_at_random(system, rng) for _ in range(kills)]
        report = simulation.report()
        sent = json_producer.stop()
        produced = report["accepted_valid"] + sent
        assert produced > 0 and len(moments) == kills

        def caught_up() -> bool:  # all stored, or the agents have stored what they will (no progress for 60 s)
            if int(system.data("/api/v1/stats")["shares_24h"]["accepted"]) >= produced:
                return True
            agents = system.get("/api/v1/admin/health").json()["data"]["agents"]
            return all(a["seconds_since_progress"] >= 60 for a in agents)

        system.wait_for(caught_up, 900, "the agents to catch up")
        time.sleep(2.0)  # a late double count would show up here
        assert system.stop() == 0
        rows, distinct, accepted, rolled, rolled_1h, difficulty, rolled_difficulty, dup_keys = system.clickhouse(
            "SELECT count() FROM shares",
            "SELECT uniqExact(share_key) FROM shares",
            "SELECT countIf(status = 'accepted') FROM shares",
            "SELECT sum(accepted) FROM shares_1m",
            "SELECT sum(accepted) FROM shares_1h",
            "SELECT sumIf(difficulty, status = 'accepted') FROM shares",
            "SELECT sum(sum_difficulty) FROM shares_1m",
            "SELECT count() FROM (SELECT share_key FROM shares GROUP BY share_key HAVING count() > 1)",
        )
        print(f"chaos: {kills} kills ({', '.join(moments)}), produced {produced:,} shares "
              f"({report['accepted_valid']:,} Arrow + {sent:,} JSON): stored {rows:,}, "
              f"lost {produced - min(rows, produced):,}, doubled {rows - distinct:,}; rollups 1m {rolled:,}, "
              f"1h {rolled_1h:,}")
        assert rows == produced, f"lost or doubled: {rows} rows for {produced} produced"
        assert distinct == rows and dup_keys == 0
        assert accepted == rows and rolled == rows and rolled_1h == rows
        assert abs(difficulty - rolled_difficulty) <= 1e-9 * difficulty
    finally:
        if json_producer is not None and json_producer.is_alive():
            json_producer.stop()
        system.close()


@pytest.mark.slow
def test_chaos_short(tmp_path: Path) -> None:
    chaos(tmp_path, miners=40, kills=3, seed=int(os.environ.get("CHAOS_SEED", "20261202")))


@pytest.mark.slow
def test_chaos_long(tmp_path: Path) -> None:
    miners = int(os.environ.get("CHAOS_MINERS", "17000"))  # ≈ 10.4M shares
    kills = int(os.environ.get("CHAOS_KILLS", "10"))
    chaos(tmp_path, miners=miners, kills=kills, seed=int(os.environ.get("CHAOS_SEED", "7")))
