"""A client written against seed 001 (`../shared/seeds/001_*.txt`), word by word, against `poolstream run`:
get an API key, read stats, algorithms, a miner and its workers, register a worker, queue a command, and
subscribe on the WebSocket. Field names and JSON types are the seed's; nothing poolstream-specific is sent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.harness import POOLSTREAM, JsonProducer, System

pytestmark = pytest.mark.e2e

ADMIN, PASSWORD = "operator", "a long operator password 1"
MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP 173 example address (BTC, SHA256d)
NUMBER = (int, float)


@pytest.fixture()
def system(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.env.update(API_ADMIN_USER=ADMIN, API_ADMIN_PASSWORD=PASSWORD, API_SNAPSHOT_INTERVAL_S="1")
    s.start()
    try:
        yield s
    finally:
        s.close()


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    body = response.json()
    assert body["success"] is True and body["meta"]["version"] == "1.0"
    return body["data"]


def test_a_seed_001_client_works_unchanged(system: System) -> None:
    base = f"http://127.0.0.1:{system.api_port}/api/v1"
    # Request API Key
    issued = ok(httpx.post(f"{base}/auth/api-key", json={"username": ADMIN, "password": PASSWORD}))
    assert isinstance(issued["api_key"], str) and isinstance(issued["expires_at"], str)
    assert set(issued["permissions"]) >= {"read", "write", "admin"}
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {issued['api_key']}"}, timeout=10)

    producer = JsonProducer(system.bootstrap, MINER, "worker1")
    producer.start()
    try:
        # Get Pool Stats: every field of the example, with its type (hashrate is the pool's 10-min total).
        system.wait_for(lambda: ok(api.get("/stats"))["hashrate"] > 0, 60, "pool hashrate")
        stats = ok(api.get("/stats"))
        for name, kind in (("hashrate", NUMBER), ("miners", int), ("workers", int), ("blocks_found", int),
                           ("currencies", list), ("algorithms", list), ("federation", dict),
                           ("hardware_stats", dict)):
            assert isinstance(stats[name], kind), (name, stats[name])
        assert "last_block" in stats and stats["miners"] >= 1 and stats["workers"] >= 1
        assert set(stats["federation"]) >= {"peers", "shared_hashrate", "reputation"}
        assert set(stats["hardware_stats"]) >= {"cpu_miners", "gpu_miners", "asic_miners"}

        # Get Supported Algorithms: an array, seed names, only what the pool serves.
        algorithms = ok(api.get("/algorithms"))
        assert {a["name"] for a in algorithms} == {"SHA256d", "Scrypt"}
        for algo in algorithms:
            assert set(algo) >= {"name", "currencies", "ports", "difficulty", "hashrate", "hardware_types",
                                 "stratum_version"}
            assert isinstance(algo["ports"], list) and isinstance(algo["ports"][0], int)

        # Get Miner Stats / Get Miner Workers
        miner = ok(api.get(f"/miners/{MINER}"))
        assert miner["address"] == MINER and miner["hashrate"] > 0 and isinstance(miner["workers"], int)
        assert set(miner["shares"]) == {"accepted", "rejected", "stale"} and miner["shares"]["accepted"] > 0
        assert isinstance(miner["balance"], NUMBER) and isinstance(miner["paid"], NUMBER)
        assert isinstance(miner["last_share"], str)
        workers = ok(api.get(f"/miners/{MINER}/workers"))
        assert [w["name"] for w in workers] == ["worker1"]
        assert workers[0]["status"] == "online" and workers[0]["shares_accepted"] > 0
        assert isinstance(workers[0]["hashrate"], NUMBER) and isinstance(workers[0]["last_share"], str)

        # Register Worker, then Execute Worker Command
        registered = ok(api.post("/workers", json={"name": "my_worker", "hardware_type": "GPU",
                                                   "algorithm": "Scrypt", "currency": "LTC"}))
        assert registered["name"] == "my_worker" and registered["token"]
        scrypt_port = next(a["ports"][0] for a in algorithms if a["name"] == "Scrypt")
        assert registered["stratum_url"].startswith("stratum+tcp://")
        assert registered["stratum_url"].endswith(f":{scrypt_port}")
        queued = ok(api.post(f"/workers/{registered['id']}/commands", json={"command": "restart", "parameters": {}}))
        assert queued["command"] == "restart"

        # WebSocket: authenticate, subscribe, receive pushes in the seed's shapes.
        with connect(f"ws://127.0.0.1:{system.api_port}/api/ws", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "auth", "token": issued["api_key"]}))
            ws.send(json.dumps({"type": "subscribe",
                                "channels": ["stats", "blocks", f"miner:{MINER}", "hardware", "federation"]}))
            seen: dict[str, dict[str, Any]] = {}
            for _ in range(50):
                message = json.loads(ws.recv(timeout=10))
                seen.setdefault(message["type"], message)
                if {"stats", "miner"} <= set(seen):
                    break
        assert seen["auth"]["data"]["authenticated"] is True
        assert set(seen["stats"]["data"]) >= {"hashrate", "miners", "difficulty"}
        assert set(seen["miner"]["data"]) >= {"hashrate", "balance", "shares_accepted"}
    finally:
        producer.stop()

    # Error Response: the seed's envelope and codes.
    anonymous = httpx.post(f"{base}/workers", json={"name": "x"}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "UNAUTHORIZED"
    bad = api.get("/miners/not-an-address")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_REQUEST"
    # An analyst's SQL while `poolstream run` holds the chDB directory: through the API, with the key.
    done = subprocess.run([POOLSTREAM, "sql", f"SELECT count() AS n FROM shares WHERE miner = '{MINER}'",
                           "--format", "json", "--api-key", issued["api_key"]],
                          cwd=system.workdir, env=system.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(json.loads(done.stdout)["rows"][0][0]) >= miner["shares"]["accepted"]
    refused = subprocess.run([POOLSTREAM, "sql", "DROP TABLE shares", "--api-key", issued["api_key"]],
                             cwd=system.workdir, env=system.env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    limited = api.get("/stats")
    assert limited.headers["X-RateLimit-Tier"] == "authenticated"
    assert int(limited.headers["X-RateLimit-Limit"]) == 1000
