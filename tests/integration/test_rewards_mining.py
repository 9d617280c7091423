"""Mining contributions from the pool's measured work against a real chDB (issue 11): shares stored in `shares`
roll up into the minute buckets; the mining job settles each closed period once, one `mining` contribution per
(participant, algorithm, period), linked to the participant's user, scored 10 × the miner's share of the pool's
Σ difficulty (every miner of the algorithm counts in the pool, registered or not). Scores are exactly
proportional to the work; a simulated fleet's scores are the exact floor of that rule; reruns add nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from clickhouse_connect.driver.client import Client

from api.rewards import RewardsContext
from api.rewards.mining import settle, unsettled
from api.services.db import Db
from jobs.sfr_mining import SfrMiningJob
from schemas.clock import FixedClock
from sources.simulate.generate import STALE, VALID
from sources.simulate.options import SimulateOptions
from sources.simulate.run import plan
from tests.support_auth import create_user_key

pytestmark = pytest.mark.integration

DAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
AFTER = DAY + dt.timedelta(days=1, minutes=20)  # the day closed 20 min ago (grace 15 min)
SHARE_COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "status", "hardware"]


def job(clickhouse: Client, at: dt.datetime = AFTER) -> SfrMiningJob:
    ctx = RewardsContext(Db(clickhouse), FixedClock(at))
    return SfrMiningJob(clickhouse, functools.partial(unsettled, ctx), functools.partial(settle, ctx), ctx.clock,
                        period_s=86400, grace_s=900)


def register(clickhouse: Client, owners: dict[str, str], *, inactive: tuple[str, ...] = ()) -> dict[str, str]:
    """A user per owner and an active participant for their address; returns address -> the user's userId."""
    rows, users = [], {}
    for n, (address, owner) in enumerate(owners.items(), start=1):
        create_user_key(clickhouse, "write", username=owner)
        rows.append([n, address, owner, int(address not in inactive), DAY, DAY])
        users[address] = str(clickhouse.query("SELECT user_id FROM users FINAL WHERE username = {u:String}",
                                              parameters={"u": owner}).result_rows[0][0])
    clickhouse.insert("participants", rows, column_names=["id", "ton_wallet_address", "owner", "is_active",
                                                          "created_at", "updated_at"])
    return users


def mining_records(clickhouse: Client) -> dict[str, dict[str, Any]]:
    rows = clickhouse.query("SELECT reference_id, user_id, contribution_score, metrics, activity_date, source "
                            "FROM reward_contributions FINAL WHERE contribution_type = 'mining'").result_rows
    return {str(r[0]): {"user": r[1], "score": Fraction(r[2]), "metrics": json.loads(r[3]), "date": r[4],
                        "source": r[5]} for r in rows}


def share(at: dt.datetime, algorithm: str, miner: str, difficulty: float, status: str = "accepted",
          worker: str = "rig1") -> list[Any]:
    return [at, algorithm, miner, worker, difficulty, status, "asic"]


def test_scores_are_exactly_proportional_to_the_work(clickhouse: Client) -> None:
    users = register(clickhouse, {"bc1qa": "alice", "bc1qb": "bob", "bc1qc": "carol", "bc1qd": "dave",
                                  "ltc1qe": "erin", "bc1qf": "frank"}, inactive=("bc1qf",))
    u = 0.125
    t = DAY + dt.timedelta(hours=3)
    clickhouse.insert("shares", [
        share(t, "sha256d", "bc1qa", 1 * u), share(t, "sha256d", "bc1qa", 1000.0, status="invalid"),
        share(t, "sha256d", "bc1qb", 2 * u),
        share(t + dt.timedelta(hours=5), "sha256d", "bc1qc", 1 * u), share(t, "sha256d", "bc1qc", 2 * u),
        share(t, "sha256d", "bc1qd", 3 * u, worker="rig1"), share(t + dt.timedelta(minutes=7), "sha256d", "bc1qd", u,
                                                                   worker="rig2"),
        share(t, "sha256d", "bc1qx", 6 * u), share(t, "sha256d", "bc1qf", 4 * u),  # unregistered, inactive: pool only
        share(t, "scrypt", "ltc1qe", 3.0), share(t, "scrypt", "ltc1qy", 1.0),
        share(AFTER - dt.timedelta(minutes=5), "sha256d", "bc1qb", 500.0),  # today: an open period
    ], column_names=SHARE_COLUMNS)
    assert asyncio.run(job(clickhouse).run()) == 6  # the closed days of the lookback, most of them empty
    records = mining_records(clickhouse)
    day = DAY.strftime("%Y-%m-%dT%H:%M:%SZ")
    scores = {ref.split(":")[0]: r["score"] for ref, r in records.items()}
    # sha256d pool 20u: 1u, 2u, 3u, 4u -> 0.5, 1, 1.5, 2; scrypt pool 4: 3 -> 7.5
    assert scores == {"bc1qa": Fraction(1, 2), "bc1qb": 1, "bc1qc": Fraction(3, 2), "bc1qd": 2, "ltc1qe": Fraction(15, 2)}
    works = {"bc1qa": 1, "bc1qb": 2, "bc1qc": 3, "bc1qd": 4}
    assert all(scores[a] / scores["bc1qa"] == w for a, w in works.items())  # exact ratios
    alice = records[f"bc1qa:sha256d:{day}"]
    assert alice["user"] == users["bc1qa"] and alice["source"] == "mining_job"
    assert alice["metrics"] == {"minerDifficulty": "0.125", "poolDifficulty": "2.5", "acceptedShares": 1,
                                "participantId": 1, "algorithm": "sha256d", "periodStart": day,
                                "periodEnd": (DAY + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert alice["date"].replace(tzinfo=dt.UTC) == DAY
    run = clickhouse.query("SELECT state, result FROM reward_batches FINAL WHERE run_key = {k:String}",
                           parameters={"k": f"mining:{day}"}).result_rows
    assert run[0][0] == "succeeded"
    result = json.loads(run[0][1])["steps"]["contributions"]
    assert result["created"] == 5 and result["unregisteredMiners"] == 3 and result["miners"] == 8
    assert result["poolDifficulty"] == {"scrypt": "4", "sha256d": "2.5"}
    # settled once: a later look adds nothing; a run found failed (a crash) finds its records by reference
    assert asyncio.run(job(clickhouse, AFTER + dt.timedelta(hours=1)).run()) == 0
    clickhouse.insert("reward_batches", [[r[0], r[1], r[2], r[3], r[4], r[5], None, "failed", "{}",
                                          AFTER + dt.timedelta(hours=2)] for r in clickhouse.query(
        "SELECT id, batch_id, kind, run_key, requested_by, started_at FROM reward_batches FINAL "
        "WHERE run_key = {k:String}", parameters={"k": f"mining:{day}"}).result_rows],
        column_names=["id", "batch_id", "kind", "run_key", "requested_by", "started_at", "finished_at", "state",
                      "result", "updated_at"])
    assert asyncio.run(job(clickhouse).run()) == 1
    assert mining_records(clickhouse) == records


def test_a_simulated_fleets_scores_follow_its_work(clickhouse: Client) -> None:
    _, fleet, generator = plan(SimulateOptions(miners=6, workers=2, duration_s=900, seed=11, stale_fraction=0.05),
                               int((DAY + dt.timedelta(hours=12)).timestamp() * 1000))
    rows, work = [], {a: Fraction(0) for a in fleet.addresses}
    addresses = generator.address_dictionary.to_pylist()
    for _, shares in generator.slices():
        for i in range(len(shares)):
            kind = int(shares.kind[i])
            if kind not in (VALID, STALE):
                continue
            miner, difficulty = addresses[int(shares.address_name[i])], float(shares.difficulty[i])
            rows.append([dt.datetime.fromtimestamp(int(shares.ts_ms[i]) / 1000, dt.UTC), "sha256d", miner,
                         f"w{int(shares.worker[i])}", difficulty, "accepted" if kind == VALID else "stale", "asic"])
            work[miner] += Fraction(difficulty) if kind == VALID else 0
    clickhouse.insert("shares", rows, column_names=SHARE_COLUMNS)
    registered = fleet.addresses[:4]
    users = register(clickhouse, {a: f"miner{n}" for n, a in enumerate(registered)})
    assert asyncio.run(job(clickhouse).run()) == 6
    records = {ref.split(":")[0]: r for ref, r in mining_records(clickhouse).items()}
    assert set(records) == set(registered)
    pool = sum(work.values())
    for address in registered:
        expected = Fraction(math.floor(10 * work[address] / pool * 10**4), 10**4)  # kernels.sfr: floored to 4 places
        assert records[address]["score"] == expected and expected > 0, address
        assert records[address]["user"] == users[address]
        assert Fraction(records[address]["metrics"]["minerDifficulty"]) == work[address]
        assert Fraction(records[address]["metrics"]["poolDifficulty"]) == pool
    assert sum(r["score"] for r in records.values()) <= 10 * sum(work[a] for a in registered) / pool
    assert np.isclose(float(sum(work.values())), float(generator.tally.miner_accepted_difficulty.sum()))
