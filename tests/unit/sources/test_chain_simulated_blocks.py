"""`poolstream simulate` finds blocks: each valid share is a block with probability d/D, the blocks go to the
`blocks` topic as `found` events and into the simulated chain file the maturity job reads."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest

from schemas.block import decode_block
from schemas.clock import FixedClock
from schemas.topics import TopicNames
from sources.chain.simulated import SimulatedChain, SimulatedChainFile
from sources.simulate.blocks import SUBSIDY, FoundBlock
from sources.simulate.options import SimulateOptions
from sources.simulate.report import format_report
from sources.simulate.run import ProgressLine, plan, simulate
from tests.unit.sources.test_simulate_run import FakePublisher

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
TOPICS = TopicNames("t.")


def run(tmp_path: Path, **kw: object) -> tuple[FakePublisher, object, list[FoundBlock]]:
    seen: list[FoundBlock] = []
    options = SimulateOptions(miners=6, workers=2, duration_s=1800, seed=3, algorithms=("sha256d", "scrypt"),
                              **kw)  # type: ignore[arg-type]
    publisher = FakePublisher()
    report = simulate(options, publisher, TOPICS, FixedClock(T0), chain_path=tmp_path / "chain.json",
                      on_block=seen.append)
    return publisher, report, seen


def test_low_network_difficulty_finds_blocks_at_rate_d_over_d(tmp_path: Path) -> None:
    options = SimulateOptions(miners=6, workers=2, duration_s=1800, seed=3, algorithms=("sha256d", "scrypt"))
    _, fleet, _ = plan(options, 0)
    d = float(np.median(fleet.worker_difficulty))
    network = d * 40  # about one block every 40 shares
    publisher, report, seen = run(tmp_path, network_difficulty=network, orphan_rate=0.25)
    blocks = [decode_block(v) for topic, _, v, _ in publisher.sent if topic == TOPICS.blocks]
    assert blocks and len(blocks) == len(seen) == len(report.blocks)  # type: ignore[attr-defined]
    # Σ d/D over the valid shares is the expected number of blocks: within 5 sigma (Poisson)
    expected = sum(report.miner_accepted_difficulty.values()) / network  # type: ignore[attr-defined]
    assert abs(len(blocks) - expected) < 5 * expected**0.5 + 1
    for b in blocks:
        assert b.status == "found" and b.network_difficulty == network and b.coin in ("BTC", "LTC", "DOGE")
        assert SUBSIDY[b.coin] <= b.reward < SUBSIDY[b.coin] * 1.05 and isinstance(b.reward, int)
        assert b.share_difficulty > 0 and len(b.hash) == 64
    heights = [(b.coin, b.height) for b in blocks]
    assert len(set(heights)) == len(heights)  # one pool block per height
    orphans = sum(f.orphan for f in seen)
    assert 0 < orphans < len(seen)
    # the chain file knows each block and its fate: orphans are off the main chain, the rest gain confirmations
    later = SimulatedChain(tmp_path / "chain.json", FixedClock(T0 + dt.timedelta(hours=1)))
    for f in seen:
        depth = later.confirmations(f.block.coin, f.block.height, f.block.hash)
        assert (depth is None) if f.orphan else (depth is not None and depth > 0)
    assert "blocks found" in format_report(report)  # type: ignore[arg-type]


def test_no_blocks_at_realistic_difficulty_and_shares_unchanged(tmp_path: Path) -> None:
    plain, _, none = run(tmp_path)
    assert none == [] and all(topic == TOPICS.shares for topic, *_ in plain.sent)
    assert not (tmp_path / "chain.json").exists()
    with_blocks, _, seen = run(tmp_path, network_difficulty=1e3)
    assert seen
    shares = [m for m in with_blocks.sent if m[0] == TOPICS.shares]
    assert [m[2] for m in shares] != [] and len(shares) == len(plain.sent)


def test_runs_merge_into_one_chain_file(tmp_path: Path) -> None:
    _, _, first = run(tmp_path, network_difficulty=1e3)
    options = SimulateOptions(miners=6, workers=2, duration_s=1800, seed=4, algorithms=("sha256d", "scrypt"),
                              network_difficulty=1e3)
    second: list[FoundBlock] = []
    simulate(options, FakePublisher(), TOPICS, FixedClock(T0 + dt.timedelta(hours=1)),
             chain_path=tmp_path / "chain.json", on_block=second.append)
    chain = SimulatedChainFile.load(tmp_path / "chain.json")
    assert set(chain.blocks) == {f.block.hash for f in first + second}


def test_progress_line_counts_blocks(tmp_path: Path) -> None:
    out = io.StringIO()
    line = ProgressLine(out, interval_s=0)
    _, _, seen = run(tmp_path, network_difficulty=1e3)
    for f in seen:
        line.block_found(f)
    line(10, 10)
    assert f"{len(seen):,} block(s) found" in out.getvalue()


@pytest.mark.parametrize(("flag", "kw"), [("network-difficulty", {"network_difficulty": -1.0}),
                                          ("orphan-rate", {"orphan_rate": 1.5}),
                                          ("chain-block-time", {"chain_block_time_s": 0.0})])
def test_bad_block_options_name_their_flag(flag: str, kw: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=f"--{flag}"):
        SimulateOptions(miners=1, **kw)  # type: ignore[arg-type]
