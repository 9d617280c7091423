"""End to end, issue 9's "Done when": `poolstream run`, `poolstream simulate --network-difficulty …` finds blocks
on a simulated chain; the credits job splits them (PPLNS), the maturity job confirms or orphans them, the
balances appear in `/api/v1/miners/{address}`, and every block's ledger rows sum to its reward exactly
(an orphan's to 0: its credits are reversed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

MONEY_ENV = {"COIN_BTC_MATURITY": "2", "CHAIN_SOURCE": "simulated", "MATURITY_INTERVAL_S": "1",
             "CREDITS_INTERVAL_S": "1", "COIN_BTC_PAYOUT_MINIMUM": "1000"}  # no payout: balances stay put


@pytest.fixture()
def system(tmp_path: Path) -> Iterator[System]:
    s = System(tmp_path)
    s.env.update(MONEY_ENV)
    s.start()
    try:
        yield s
    finally:
        s.close()


def block_settled(system: System, block: dict[str, Any]) -> bool:
    found = system.data(f"/api/v1/blocks/{block['hash']}")
    if found["status"] != ("orphaned" if block["orphan"] else "confirmed"):
        return False
    kinds = {c["kind"] for c in found["credits"]}
    return "fee" in kinds and (not block["orphan"] or "reversal" in kinds)


def test_blocks_are_credited_mature_and_sum_to_their_rewards(system: System) -> None:
    report = system.simulate("--miners", "3", "--workers", "2", "--duration", "120", "--seed", "9009",
                             "--network-difficulty", "2000000", "--orphan-rate", "0.2", "--chain-block-time", "0.5")
    blocks = report["blocks"]
    assert len(blocks) >= 2, f"the fleet found {len(blocks)} block(s): lower --network-difficulty"
    for block in blocks:
        system.wait_for(lambda b=block: block_settled(system, b), 45, f"block {block['hash'][:12]} settled")

    mature: dict[str, int] = {}
    for block in blocks:
        found = system.data(f"/api/v1/blocks/{block['hash']}")
        total = sum(int(c["amount_base_units"]) for c in found["credits"])
        assert found["reward_base_units"] == block["reward"]
        assert total == (0 if block["orphan"] else block["reward"]), (block, found["credits"])
        if not block["orphan"]:
            for c in found["credits"]:
                if c["kind"] == "credit":
                    mature[c["address"]] = mature.get(c["address"], 0) + int(c["amount_base_units"])
    assert mature and sum(mature.values()) > 0

    for address, units in mature.items():
        def shows(a: str = address, u: int = units) -> bool:
            miner = system.data(f"/api/v1/miners/{a}")
            return bool(miner["balance_base_units"] == u and miner["balance"] > 0)
        system.wait_for(shows, 30, f"balance of {address}")
        balances = system.data(f"/api/v1/miners/{address}/balances")
        assert [(b["coin"], b["mature_base_units"], b["pending_base_units"]) for b in balances] == [("BTC", units, 0)]
        earnings = system.data(f"/api/v1/miners/{address}/earnings?days=2")
        assert sum(int(e["credited_base_units"]) for e in earnings) == units
    metrics = system.get("/metrics").text
    assert 'poolstream_blocks{status="confirmed"}' in metrics
