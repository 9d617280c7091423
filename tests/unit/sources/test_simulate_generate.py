"""Share generation: Poisson statistics, hashrate recovery, injected bad shares, message form, determinism."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from schemas.algorithms import HASHRATE_FACTOR, Algorithm
from schemas.identity import valid_address, valid_worker
from schemas.share import SHARE_SCHEMA, decode_message
from sources.simulate import generate
from sources.simulate.address import bech32_verify
from sources.simulate.fleet import DEVICE_CLASSES, Fleet
from sources.simulate.generate import DUPLICATE_MAX_DELAY_MS, VALID, ShareGenerator
from sources.simulate.options import SimulateOptions
from sources.simulate.run import plan

START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
WORKER_NAME = re.compile(r"rig-\d{4}")


@dataclass
class Run:
    fleet: Fleet
    generator: ShareGenerator
    messages: list[tuple[bytes, bytes, int]]
    valid_per_worker: np.ndarray

    @property
    def table(self) -> pa.Table:
        return pa.Table.from_batches([decode_message(value) for _, value, _ in self.messages])


def run(options: SimulateOptions, slice_shares: int | None = None) -> Run:
    """Generate a whole run; `slice_shares` makes slices small so several are exercised."""
    with pytest.MonkeyPatch.context() as patch:
        if slice_shares is not None:
            patch.setattr(generate, "SLICE_SHARES", slice_shares)
        _, fleet, generator = plan(options, START_MS)
    messages: list[tuple[bytes, bytes, int]] = []
    valid_per_worker = np.zeros(fleet.size, dtype=np.int64)
    for _, shares in generator.slices():
        valid_per_worker += np.bincount(shares.worker[shares.kind == VALID], minlength=fleet.size)
        messages.extend(generator.messages(shares))
    return Run(fleet, generator, messages, valid_per_worker)


@pytest.fixture(scope="module")
def clean() -> Run:
    """~300 shares for each of 1,000 workers over two algorithms, no bad shares."""
    return run(
        SimulateOptions(miners=200, workers=5, duration_s=3000, algorithms=("sha256d", "scrypt"), seed=11),
        slice_shares=50_000,
    )


FRACTIONS = {"invalid_fraction": 0.04, "duplicate_fraction": 0.03, "stale_fraction": 0.05}


@pytest.fixture(scope="module")
def dirty() -> Run:
    return run(
        SimulateOptions(miners=40, workers=3, duration_s=2000, seed=5, shares_per_message=700, **FRACTIONS),
        slice_shares=4_000,
    )


def test_runs_span_several_slices(clean: Run, dirty: Run) -> None:
    assert len(clean.generator.bounds) > 5 and len(dirty.generator.bounds) > 5
    assert clean.generator.bounds[0] == START_MS and clean.generator.bounds[-1] == clean.generator.end_ms


def test_share_counts_per_worker_are_poisson(clean: Run) -> None:
    mean = clean.fleet.worker_rate * clean.generator.window_ms / 1000
    z = (clean.valid_per_worker - mean) / np.sqrt(mean)
    k = len(z)
    assert abs(z.mean()) < 4 / math.sqrt(k)
    # var of a standardised Poisson count is 1; its sampling sd over k workers is about sqrt(2/k)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / k)
    assert 200 < mean.mean() < 450  # vardiff: ~one share per 10 s


def test_sum_of_difficulty_recovers_the_true_hashrate(clean: Run) -> None:
    table = clean.table
    seconds = clean.generator.window_ms / 1000
    rate = clean.fleet.worker_rate
    for code, algorithm in enumerate(clean.fleet.algorithms):
        name = algorithm.wire
        rows = table.filter(pa.compute.equal(table["algorithm"], name))
        difficulty = rows["difficulty"].to_numpy()
        estimate = difficulty.sum() * HASHRATE_FACTOR[algorithm] / seconds
        workers = clean.fleet.worker_algorithm == code
        d = clean.fleet.worker_difficulty[workers]
        # Var(Σd) = Σ d²·λ·S: the general form of the 1/√N relative error (DOMAIN.md)
        sigma = (
            math.sqrt(float((d**2 * rate[workers] * seconds).sum())) * HASHRATE_FACTOR[algorithm] / seconds
        )
        true = clean.fleet.true_hashrate()[name]
        assert abs(estimate - true) <= 3 * sigma
        assert sigma / true < 3 / math.sqrt(len(difficulty))  # equal-d bound, loosened by the d spread
        assert clean.generator.tally.algorithm_accepted_difficulty[code] == pytest.approx(difficulty.sum())


def test_clean_run_has_only_valid_accepted_shares(clean: Run) -> None:
    table = clean.table
    tally = clean.generator.tally
    assert table.num_rows == tally.shares_total == tally.accepted_valid
    assert set(table["result"].to_pylist()) == {"accepted"}
    assert set(table["hardware"].to_pylist()) <= set(DEVICE_CLASSES)
    assert np.all(table["difficulty"].to_numpy() > 0)
    assert np.all(table["network_difficulty"].to_numpy() > table["difficulty"].to_numpy())
    ts = table["ts"].cast(pa.int64()).to_numpy()
    assert ts.min() >= START_MS and ts.max() < clean.generator.end_ms
    keys = table.select(["miner", "worker", "job_id", "extranonce2", "ntime", "nonce"]).to_pylist()
    assert len({tuple(k.values()) for k in keys}) == len(keys)  # unique per worker (and globally)


def test_arrow_messages_are_one_miner_in_order(clean: Run) -> None:
    last_ts: dict[bytes, int] = {}
    for key, value, count in clean.messages:
        batch = decode_message(value)
        assert batch.schema.equals(SHARE_SCHEMA, check_metadata=True)
        assert batch.num_rows == count <= 5000
        assert set(batch["miner"].to_pylist()) == {key.decode()}
        ts = batch["ts"].cast(pa.int64()).to_numpy()
        assert np.all(np.diff(ts) >= 0) and ts[0] >= last_ts.get(key, 0)
        last_ts[key] = int(ts[-1])


def test_bad_share_counts_are_exact(dirty: Run) -> None:
    tally = dirty.generator.tally
    invalid = sum(tally.invalid.values())
    assert tally.shares_total == tally.accepted_valid + tally.stale + tally.duplicates + invalid
    everything = tally.accepted_valid / (1 - sum(FRACTIONS.values()))
    assert tally.stale == round(FRACTIONS["stale_fraction"] * everything)
    assert tally.duplicates == round(FRACTIONS["duplicate_fraction"] * everything)
    assert invalid == round(FRACTIONS["invalid_fraction"] * everything)
    for name, fraction in FRACTIONS.items():
        count = {"stale_fraction": tally.stale, "duplicate_fraction": tally.duplicates}.get(name, invalid)
        assert abs(count / tally.shares_total - fraction) < 2 / tally.shares_total + 1e-3
    assert max(tally.invalid.values()) - min(tally.invalid.values()) <= 1  # kinds round-robin
    assert tally.stale > 100 and tally.duplicates > 100


def test_bad_shares_are_in_the_messages(dirty: Run) -> None:
    """Classify every produced row with the pipeline's own rules (schemas.identity) and compare."""
    rows = dirty.table.to_pylist()
    tally = dirty.generator.tally
    seen: set[tuple[object, ...]] = set()
    found = {"accepted": 0, "stale": 0, "duplicate": 0}
    found.update({kind: 0 for kind in tally.invalid})
    accepted_difficulty = 0.0
    for row in rows:
        difficulty = row["difficulty"]
        if not (math.isfinite(difficulty) and difficulty > 0):
            found["bad_difficulty"] += 1
        elif not valid_worker(row["worker"]):
            found["bad_worker"] += 1
        elif not valid_address(row["miner"]):
            found["bad_address"] += 1
        elif row["algorithm"] not in {a.wire for a in Algorithm}:
            found["unknown_algorithm"] += 1
        else:
            key = (row["miner"], row["worker"], row["job_id"], row["extranonce2"], row["ntime"], row["nonce"])
            if key in seen:
                found["duplicate"] += 1
                continue
            seen.add(key)
            assert WORKER_NAME.fullmatch(row["worker"]) and bech32_verify(row["miner"])
            if row["result"] == "stale":
                found["stale"] += 1
            else:
                assert row["result"] == "accepted"
                found["accepted"] += 1
                accepted_difficulty += difficulty
    assert found == {
        "accepted": tally.accepted_valid,
        "stale": tally.stale,
        "duplicate": tally.duplicates,
        **tally.invalid,
    }
    assert accepted_difficulty == pytest.approx(tally.algorithm_accepted_difficulty.sum())
    # all four bad-difficulty variants occur on the Arrow path
    bad = [r["difficulty"] for r in rows if not (math.isfinite(r["difficulty"]) and r["difficulty"] > 0)]
    assert any(math.isnan(d) for d in bad) and math.inf in bad and 0.0 in bad and any(d < 0 for d in bad)


def test_a_duplicate_repeats_an_earlier_share_soon_after(dirty: Run) -> None:
    first_seen: dict[tuple[object, ...], int] = {}
    gaps = []
    for row in dirty.table.select(
        ["miner", "worker", "job_id", "extranonce2", "ntime", "nonce", "ts"]
    ).to_pylist():
        ts = row.pop("ts").timestamp() * 1000
        key = tuple(row.values())
        if key in first_seen:
            gaps.append(ts - first_seen[key])
        else:
            first_seen[key] = ts
    assert len(gaps) == dirty.generator.tally.duplicates
    assert min(gaps) >= 0 and max(gaps) <= DUPLICATE_MAX_DELAY_MS


def test_messages_respect_shares_per_message(dirty: Run) -> None:
    assert max(count for _, _, count in dirty.messages) <= 700
    assert sum(count for _, _, count in dirty.messages) == dirty.generator.tally.shares_total


def test_json_messages_round_trip_without_nan() -> None:
    json_run = run(SimulateOptions(miners=5, workers=2, duration_s=300, encoding="json", seed=2, **FRACTIONS))
    assert all(count == 1 for _, _, count in json_run.messages)
    assert all(value.startswith(b"{") and b"null" not in value for _, value, _ in json_run.messages)
    table = json_run.table
    assert table.num_rows == json_run.generator.tally.shares_total
    assert table.schema.remove_metadata().equals(SHARE_SCHEMA.remove_metadata())
    ts = table["ts"].cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)  # JSON goes out in time order


def test_same_seed_same_messages_other_seed_others() -> None:
    options = SimulateOptions(miners=10, workers=3, duration_s=600, seed=99, **FRACTIONS)
    a, b = run(options), run(options)
    assert [m[:2] for m in a.messages] == [m[:2] for m in b.messages]
    c = run(SimulateOptions(miners=10, workers=3, duration_s=600, seed=100, **FRACTIONS))
    assert [m[:2] for m in a.messages] != [m[:2] for m in c.messages]


def test_fleet_does_not_depend_on_duration() -> None:
    short = plan(SimulateOptions(miners=8, workers=2, duration_s=60, seed=4), START_MS)[1]
    long = plan(SimulateOptions(miners=8, workers=2, duration_s=6000, seed=4, stale_fraction=0.1), START_MS)[
        1
    ]
    assert short.addresses == long.addresses
    assert np.array_equal(short.worker_hashrate, long.worker_hashrate)


def test_realtime_messages_group_miners_by_partition() -> None:
    """Realtime slices hold about one share per miner: one message per partition group, every share once,
    and each miner always under the key of its own partition (its shares stay in order on one partition)."""
    from bus.publisher import partition_of

    options = SimulateOptions(miners=200, workers=2, duration_s=30, realtime=True, seed=3, partitions=4)
    _seed, _fleet, generator = plan(options, 1_700_000_000_000)
    seen = 0
    for _end, shares in generator.slices():
        messages = list(generator.messages(shares))
        assert len(messages) <= 4 or len(shares) > 4 * options.shares_per_message
        for key, value, count in messages:
            table = decode_message(value)
            assert table.num_rows == count
            group = partition_of(key.decode(), 4)
            assert {partition_of(m, 4) for m in table.column("miner").to_pylist()} == {group}
            seen += count
        assert sum(c for _k, _v, c in messages) == len(shares)
    assert seen == generator.shares_total
