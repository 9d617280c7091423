"""The stateful telemetry kernels (counters, stuck sensors, spikes, ts order) against their plain-Python
references on random batches split at random points (the state carried between them), and on edge cases:
empty, one reading, the exact stuck bound, MAD = 0, the spike threshold."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.telemetry_series import (
    MIN_WINDOW,
    NONE,
    WINDOW,
    check_counters,
    check_spikes,
    check_stuck,
    counters_reference,
    in_order,
    spikes_reference,
    stuck_reference,
)
from schemas.telemetry import TelemetryFlag, TelemetryReason

K = 3  # devices
NEVER = np.iinfo(np.int64).min
SPIKE, STUCK, RESET = int(TelemetryFlag.SPIKE), int(TelemetryFlag.STUCK), int(TelemetryFlag.COUNTER_RESET)


def devs(rows: list[tuple[int, ...]]) -> np.ndarray:
    return np.array([r[0] for r in rows], dtype=np.int64)


def sort_by_device(rows: list[tuple[int, object, object]]) -> list[tuple[int, object, object]]:
    return sorted(rows, key=lambda r: r[0])  # stable: each device's rows keep their order


counter = st.one_of(st.none(), st.integers(0, 20), st.just(2**62))
counter_rows = st.lists(st.tuples(st.integers(0, K - 1), counter, counter), max_size=60)


@settings(max_examples=300, deadline=None)
@given(counter_rows, st.integers(0, 60))
def test_counters_match_reference_across_batches(rows: list[tuple[int, int | None, int | None]], cut: int) -> None:
    state: dict[int, tuple[int | None, int | None]] = {}
    errors, uptime = np.full(K, NONE, np.int64), np.full(K, NONE, np.int64)
    got: list[tuple[int, int]] = []
    want: list[tuple[int, int]] = []
    for part in (sort_by_device(rows[:cut]), sort_by_device(rows[cut:])):
        e = np.array([r[1] if r[1] is not None else 0 for r in part], np.int64)
        u = np.array([r[2] if r[2] is not None else 0 for r in part], np.int64)
        reason, flag, errors, uptime = check_counters(
            devs(part), np.ones(len(part), np.bool_), e, np.array([r[1] is not None for r in part], np.bool_), u,
            np.array([r[2] is not None for r in part], np.bool_), errors, uptime)
        got += list(zip(reason.tolist(), flag.tolist(), strict=True))
        want += counters_reference(part, state)
    assert got == want


def test_counters_rules() -> None:
    rows = [(0, 5, 100), (0, 7, 160), (0, 3, 200),  # errors back, uptime grew: rejected
            (0, 4, 230),  # counts on from the rejected reading's baseline
            (0, 1, 10),  # uptime back: a reboot
            (1, 9, None), (1, 2, None),  # no uptime to tell: a reset
            (2, 5, 50)]  # first reading: nothing to compare
    B, R = int(TelemetryReason.COUNTER_BACKWARDS), RESET
    assert counters_reference(rows, {}) == [(0, 0), (0, 0), (B, 0), (0, 0), (0, R), (0, 0), (0, R), (0, 0)]
    e = np.array([r[1] for r in rows], np.int64)
    u = np.array([r[2] or 0 for r in rows], np.int64)
    reason, flag, last_e, last_u = check_counters(devs(rows), np.ones(8, np.bool_), e, np.ones(8, np.bool_), u,
                                                  np.array([r[2] is not None for r in rows]), np.full(K, NONE),
                                                  np.full(K, NONE))
    assert list(zip(reason.tolist(), flag.tolist(), strict=True)) == counters_reference(rows, {})
    assert last_e.tolist() == [1, 2, 5] and last_u.tolist() == [10, NONE, 50]
    # rows not used change nothing
    reason, flag, last_e2, _ = check_counters(devs(rows), np.zeros(8, np.bool_), e, np.ones(8, np.bool_), u,
                                              np.ones(8, np.bool_), last_e, last_u)
    assert not reason.any() and not flag.any() and last_e2.tolist() == last_e.tolist()


sensor = st.one_of(st.none(), st.sampled_from([0.0, 55.0, 55.5, 70.0, -3.0]))
stuck_rows = st.lists(st.tuples(st.integers(0, K - 1), st.integers(0, 400), sensor, sensor), max_size=60)


@settings(max_examples=300, deadline=None)
@given(stuck_rows, st.integers(0, 60), st.sampled_from([0, 1, 100, 250]))
def test_stuck_matches_reference_across_batches(raw: list[tuple[int, int, float | None, float | None]], cut: int,
                                                after: int) -> None:
    rows = sorted(raw, key=lambda r: (r[0], r[1]))  # per device in ts order, as the agent passes them
    skip_zero = [False, True]
    state: dict[tuple[int, int], tuple[float, int]] = {}
    held, since = np.full((K, 2), np.nan), np.zeros((K, 2), np.int64)
    got: list[int] = []
    want: list[int] = []
    for part in (sorted(rows[:cut], key=lambda r: (r[0], r[1])), sorted(rows[cut:], key=lambda r: (r[0], r[1]))):
        values = np.array([[r[2 + s] if r[2 + s] is not None else 0.0 for r in part] for s in (0, 1)]).reshape(2, -1)
        present = np.array([[r[2 + s] is not None for r in part] for s in (0, 1)], np.bool_).reshape(2, -1)
        flag, held, since = check_stuck(devs(part), np.array([r[1] for r in part], np.int64),
                                        np.ones(len(part), np.bool_), values, present, np.array(skip_zero), held,
                                        since, after)
        got += flag.tolist()
        want += stuck_reference([(d, ts, (a, b)) for d, ts, a, b in part], skip_zero, state, after)
    assert got == want


def test_stuck_from_the_exact_bound_and_a_stopped_fan_is_not_stuck() -> None:
    rows = [(0, t, (70.0, 0.0)) for t in (0, 500, 999, 1000, 1500)] + [(0, 1600, (71.0, 0.0)), (0, 2700, (71.0, 0.0))]
    want = [0, 0, 0, STUCK, STUCK, 0, STUCK]
    assert stuck_reference(rows, [False, True], {}, 1000) == want
    flag, _, _ = check_stuck(np.zeros(7, np.int64), np.array([r[1] for r in rows], np.int64), np.ones(7, np.bool_),
                             np.array([[r[2][0] for r in rows], [r[2][1] for r in rows]]), np.ones((2, 7), np.bool_),
                             np.array([False, True]), np.full((1, 2), np.nan), np.zeros((1, 2), np.int64), 1000)
    assert flag.tolist() == want


series = st.one_of(st.none(), st.floats(-50, 150, allow_nan=False), st.sampled_from([70.0, 71.0, 1e14, 0.0]))
spike_rows = st.lists(st.tuples(st.integers(0, 1), series, series), max_size=120)


@settings(max_examples=200, deadline=None)
@given(spike_rows, st.integers(0, 120), st.sampled_from([0.5, 3.0, 8.0]))
def test_spikes_match_reference_across_batches(rows: list[tuple[int, float | None, float | None]], cut: int,
                                               z: float) -> None:
    floors = [1.0, 0.0]
    state: dict[tuple[int, int], list[float]] = {}
    ring, ring_len, ring_pos = np.zeros((2, 2, WINDOW)), np.zeros((2, 2), np.int64), np.zeros((2, 2), np.int64)
    ring_sorted = np.zeros((2, 2, WINDOW))
    got: list[int] = []
    want: list[int] = []
    for part in (sort_by_device(rows[:cut]), sort_by_device(rows[cut:])):  # type: ignore[arg-type]
        values = np.array([[r[1 + s] if r[1 + s] is not None else 0.0 for r in part] for s in (0, 1)]).reshape(2, -1)
        present = np.array([[r[1 + s] is not None for r in part] for s in (0, 1)], np.bool_).reshape(2, -1)
        flag, ring, ring_sorted, ring_len, ring_pos = check_spikes(
            devs(part), np.ones(len(part), np.bool_), values, present, ring, ring_sorted, ring_len, ring_pos, z,
            np.array(floors))
        for d in (0, 1):  # the sorted window holds what the ring holds
            for s in (0, 1):
                m = ring_len[d, s]
                assert ring_sorted[d, s, :m].tolist() == sorted(ring[d, s, :m].tolist())
        got += flag.tolist()
        want += spikes_reference([(d, (a, b)) for d, a, b in part], state, z, floors)
    assert got == want


def test_spike_needs_a_window_and_mad_zero_uses_the_floor() -> None:
    flat = [(0, (70.0,))] * MIN_WINDOW
    # fewer than MIN_WINDOW kept: nothing is a spike
    assert spikes_reference([(0, (70.0,))] * (MIN_WINDOW - 1) + [(0, (150.0,))], {}, 8.0, [1.0]) == [0] * MIN_WINDOW
    # a flat window (MAD = 0): scale = max(floor 1.0, 1% of 70) = 1.0, so 78 is at z = 8 (not above) and 78.5 is
    rows = flat + [(0, (78.0,)), (0, (61.5,)), (0, (71.0,))]
    want = [0] * MIN_WINDOW + [0, SPIKE, 0]
    assert spikes_reference(rows, {}, 8.0, [1.0]) == want
    n = len(rows)
    flag, _, _, ring_len, ring_pos = check_spikes(np.zeros(n, np.int64), np.ones(n, np.bool_),
                                                  np.array([[r[1][0] for r in rows]]), np.ones((1, n), np.bool_),
                                                  np.zeros((1, 1, WINDOW)), np.zeros((1, 1, WINDOW)),
                                                  np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64), 8.0,
                                                  np.array([1.0]))
    assert flag.tolist() == want and ring_len.tolist() == [[n]] and ring_pos.tolist() == [[n % WINDOW]]


def test_in_order_keeps_the_latest_ts_and_skips_late_and_repeated_readings() -> None:
    dev = np.array([0, 0, 0, 1, 1], np.int64)
    ts = np.array([10, 10, 30, 5, 7], np.int64)
    fresh, last = in_order(dev, ts, np.array([True, True, True, True, False]), np.array([20, NEVER], np.int64))
    assert fresh.tolist() == [False, False, True, True, False] and last.tolist() == [30, 5]


def test_empty_and_one_reading() -> None:
    e = np.zeros(0, np.int64)
    b = np.zeros(0, np.bool_)
    reason, flag, last_e, _ = check_counters(e, b, e, b, e, b, np.full(1, 4, np.int64), np.full(1, NONE, np.int64))
    assert reason.shape == (0,) and flag.shape == (0,) and last_e.tolist() == [4]
    flag, held, _ = check_stuck(np.zeros(1, np.int64), np.array([5], np.int64), np.ones(1, np.bool_),
                                np.array([[60.0]]), np.ones((1, 1), np.bool_), np.array([False]),
                                np.full((1, 1), np.nan), np.zeros((1, 1), np.int64), 0)
    assert flag.tolist() == [0] and held.tolist() == [[60.0]]  # first sight: held from now on
    flag, ring, _, ring_len, _ = check_spikes(np.zeros(1, np.int64), np.ones(1, np.bool_), np.array([[9.0]]),
                                              np.ones((1, 1), np.bool_), np.zeros((1, 1, WINDOW)),
                                              np.zeros((1, 1, WINDOW)), np.zeros((1, 1), np.int64),
                                              np.zeros((1, 1), np.int64), 8.0, np.array([1.0]))
    assert flag.tolist() == [0] and ring[0, 0, 0] == 9.0 and ring_len.tolist() == [[1]]
