"""simulate(): producing to the shares topic, pacing, delivery failures, the report and the progress line."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow as pa
import pytest

from bus.publisher import PublishError
from schemas.clock import FixedClock
from schemas.share import decode_message
from schemas.topics import TopicNames
from sources.simulate.options import SimulateOptions
from sources.simulate.report import format_report, human_hashrate
from sources.simulate.run import ProgressLine, simulate

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)


class FakePublisher:
    """In-memory stand-in for `bus.publisher.Publisher` (unit tests only)."""

    def __init__(self, clock: FixedClock | None = None, fail_flush: bool = False) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, int | None]] = []
        self.flushes = 0
        self._clock = clock
        self._fail = fail_flush

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((topic, key, value, self._clock.now_ms() if self._clock else None))

    def flush(self, timeout: float = 30.0) -> None:
        self.flushes += 1
        if self._fail:
            raise PublishError("1 message(s) failed delivery: broker gone")


def test_simulate_produces_everything_keyed_and_reports_it() -> None:
    clock = FixedClock(T0)
    publisher = FakePublisher()
    calls: list[tuple[int, int]] = []
    options = SimulateOptions(
        miners=12, workers=3, duration_s=900, seed=8, algorithms=("sha256d", "scrypt"), invalid_fraction=0.02
    )
    report = simulate(options, publisher, TopicNames("t1."), clock, lambda d, t: calls.append((d, t)))

    assert publisher.flushes == 1
    assert {topic for topic, *_ in publisher.sent} == {"t1.shares"}
    assert report.messages == len(publisher.sent)
    assert calls[0] == (0, report.shares_total) and calls[-1] == (report.shares_total, report.shares_total)
    table = pa.Table.from_batches([decode_message(value) for _, _, value, _ in publisher.sent])
    assert table.num_rows == report.shares_total
    assert report.start_ms == T0_MS - 900_000 and report.end_ms == T0_MS
    ts = table["ts"].cast(pa.int64()).to_numpy()
    assert ts.min() >= report.start_ms and ts.max() < report.end_ms
    assert {key for _, key, _, _ in publisher.sent} == {m.encode() for m in report.miner_true_hashrate}

    assert report.seed == 8 and report.options["seed"] == 8
    assert set(report.true_hashrate) == {"sha256d", "scrypt"}
    assert sum(report.miner_true_hashrate.values()) == pytest.approx(sum(report.true_hashrate.values()))
    assert sum(report.miner_accepted_shares.values()) == report.accepted_valid
    assert sum(report.miner_accepted_difficulty.values()) == pytest.approx(
        sum(report.accepted_difficulty.values())
    )
    assert report.invalid_total == round(0.02 * report.accepted_valid / 0.98)
    assert report.shares_per_s > 0

    loaded = json.loads(report.to_json())
    assert loaded["shares_total"] == report.shares_total
    assert loaded["start"] == "2024-12-31T23:45:00.000+00:00"
    assert loaded["invalid"] == report.invalid


def test_realtime_paces_production_to_the_clock() -> None:
    clock = FixedClock(T0)
    publisher = FakePublisher(clock)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    options = SimulateOptions(miners=20, workers=2, duration_s=30, seed=1, realtime=True, encoding="json")
    report = simulate(options, publisher, TopicNames(), clock, None, sleep=sleep)

    assert report.start_ms == T0_MS and report.end_ms == T0_MS + 30_000
    assert sum(sleeps) == pytest.approx(30.0)
    assert len(sleeps) == 30  # one tick per second
    for _, _, value, sent_at in publisher.sent:
        share_ts = json.loads(value)["ts"]
        assert sent_at is not None and share_ts < sent_at <= share_ts + 1000  # produced within its tick


def test_delivery_failure_is_raised() -> None:
    publisher = FakePublisher(fail_flush=True)
    with pytest.raises(PublishError):
        simulate(SimulateOptions(miners=1, duration_s=60, seed=1), publisher, TopicNames(), FixedClock(T0))


def test_seed_none_draws_one_and_reports_it() -> None:
    report = simulate(SimulateOptions(miners=1, duration_s=60), FakePublisher(), TopicNames(), FixedClock(T0))
    assert isinstance(report.seed, int) and report.options["seed"] == report.seed


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0 H/s"),
        (950.0, "950 H/s"),
        (1_500.0, "1.5 kH/s"),
        (10e6, "10 MH/s"),
        (123.4e12, "123 TH/s"),
        (4.2e15, "4.2 PH/s"),
        (7.0e18, "7 EH/s"),
        (7.0e21, "7e+03 EH/s"),
    ],
)
def test_human_hashrate(value: float, text: str) -> None:
    assert human_hashrate(value) == text


def test_format_report_shows_true_hashrate_in_human_units_and_exact() -> None:
    report = simulate(
        SimulateOptions(miners=3, workers=2, duration_s=600, seed=2, stale_fraction=0.1),
        FakePublisher(),
        TopicNames(),
        FixedClock(T0),
    )
    text = format_report(report)
    true = report.true_hashrate["sha256d"]
    assert f"true hashrate {human_hashrate(true)} ({true:.0f} H/s)" in text
    assert f"stale {report.stale:,}" in text


def test_progress_line() -> None:
    out = io.StringIO()
    line = ProgressLine(out, interval_s=0.0)
    line(0, 5_000_000)
    line(1_234_000, 5_000_000)
    line(5_000_000, 5_000_000)
    line(5_000_000, 5_000_000)  # the final line is written once
    text = out.getvalue()
    assert "simulate: 1,234,000/5,000,000 shares (24%)" in text
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("(100%)") == 1
