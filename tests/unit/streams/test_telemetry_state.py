"""The telemetry agent's per-device state across batches: counters, stuck sensors and spikes judged against a
device's history in ts order whatever the order in the batch, the same answer when a batch is checked twice,
and the memory bounded (idle devices and the quietest beyond the cap forgotten, then checked leniently)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from schemas.telemetry import TelemetryFlag, TelemetryReading, TelemetryReason, readings_to_batch
from streams.telemetry_state import DeviceStates, Verdicts

MINER = "bc1qexampleminer0000000000000000000000aaaa"
T0 = 1_800_000_000_000
STUCK, SPIKE, RESET = TelemetryFlag.STUCK, TelemetryFlag.SPIKE, TelemetryFlag.COUNTER_RESET
BACKWARDS = TelemetryReason.COUNTER_BACKWARDS


def reading(ts_s: float, device: str = "0", **kw: object) -> TelemetryReading:
    base: dict[str, object] = dict(ts=T0 + int(ts_s * 1000), miner=MINER, worker="rig1", device_class="GPU",
                                   device_id=device)
    base.update(kw)
    return TelemetryReading(**base)  # type: ignore[arg-type]


def check(states: DeviceStates, readings: list[TelemetryReading], reasons: list[int] | None = None,
          commit: bool = True) -> Verdicts:
    table = pa.Table.from_batches([readings_to_batch(readings)])
    verdicts = states.check(table, np.array(reasons or [0] * len(readings), np.uint8))
    if commit:
        states.commit(verdicts, T0)
    return verdicts


def test_counters_across_batches_whatever_the_order_in_a_batch() -> None:
    states = DeviceStates(900, 8)
    check(states, [reading(0, hardware_errors=5, uptime_s=100)])
    batch = [reading(30, hardware_errors=7, uptime_s=130), reading(90, hardware_errors=1, uptime_s=10),
             reading(60, hardware_errors=3, uptime_s=160)]  # ts order: 30, 60 (errors back: rejected), 90 (reboot)
    v = check(states, batch)
    assert v.reasons.tolist() == [0, 0, BACKWARDS] and v.flags.tolist() == [0, RESET, 0]
    v = check(states, [reading(120, hardware_errors=2, uptime_s=40)])
    assert v.reasons.tolist() == [0] and v.flags.tolist() == [0]


def test_rejected_and_late_readings_neither_flag_nor_move_the_history() -> None:
    states = DeviceStates(900, 8)
    check(states, [reading(100, hardware_errors=9, uptime_s=500)])
    v = check(states, [reading(50, hardware_errors=1, uptime_s=1),  # late: before the device's last reading
                       reading(110, hardware_errors=0, uptime_s=0)],  # rejected by a stateless check
              reasons=[0, int(TelemetryReason.OUT_OF_RANGE)])
    assert v.reasons.tolist() == [0, TelemetryReason.OUT_OF_RANGE] and v.flags.tolist() == [0, 0]
    v = check(states, [reading(120, hardware_errors=8, uptime_s=520)])
    assert v.reasons.tolist() == [BACKWARDS]


def test_stuck_after_the_setting_and_spikes_after_a_window() -> None:
    states = DeviceStates(60, 8)
    temps = [70.0, 70.5, 71.0, 70.0, 70.5, 71.0, 70.5, 70.0, 70.5, 71.0]
    v = check(states, [reading(10 * i, temperature_c=t, power_w=200.0 + i, fan_rpm=1500.0 + i)
                       for i, t in enumerate(temps)])
    assert not v.flags.any()
    v = check(states, [reading(100, temperature_c=95.0, power_w=210.0, fan_rpm=0.0),  # a spike
                       *(reading(110 + 10 * i, temperature_c=70.5, power_w=210.0 + i, fan_rpm=0.0) for i in range(8))])
    # 70.5 held since ts 110 (the 95 broke the run): stuck from ts 170 on; a fan at 0 rpm is never stuck
    assert v.flags.tolist() == [SPIKE, 0, 0, 0, 0, 0, 0, STUCK, STUCK]


def test_checking_a_batch_twice_without_commit_gives_the_same_answer() -> None:
    states = DeviceStates(900, 8)
    check(states, [reading(0, hardware_errors=5, uptime_s=100)])
    batch = [reading(30, hardware_errors=2, uptime_s=130)]
    first = check(states, batch, commit=False)
    again = check(states, batch)
    assert first.reasons.tolist() == again.reasons.tolist() == [BACKWARDS]


def test_devices_are_separate_and_shuffled_batches_agree_with_ordered_ones() -> None:
    rng = random.Random(7)
    readings = [reading(10 * i, device=str(d), hardware_errors=rng.randint(0, 3) + i, uptime_s=i * 10 + rng.randint(0, 9),
                        temperature_c=60.0 + rng.choice([0, 0, 0, 1, 30]), power_w=150.0)
                for i in range(40) for d in range(3)]
    ordered = check(DeviceStates(120, 4), readings)
    shuffled = list(range(len(readings)))
    rng.shuffle(shuffled)
    v = check(DeviceStates(120, 4), [readings[i] for i in shuffled])
    assert v.reasons.tolist() == [int(ordered.reasons[i]) for i in shuffled]
    assert v.flags.tolist() == [int(ordered.flags[i]) for i in shuffled]
    assert ordered.flags.any() and ordered.reasons.any()  # the scenario exercises the checks


def test_idle_devices_are_forgotten_and_the_count_is_capped() -> None:
    states = DeviceStates(900, 8, max_devices=3, idle_ms=3_600_000)
    check(states, [reading(0, device=str(d), hardware_errors=5, uptime_s=100) for d in range(3)])
    assert len(states) == 3
    check(states, [reading(10, device="3", hardware_errors=5, uptime_s=100)])
    assert len(states) == 3  # the quietest (device 0, 1 or 2 at ts 0) made room
    later = T0 + 2 * 3_600_000
    verdicts = states.check(pa.Table.from_batches([readings_to_batch([reading(7_200, device="3", hardware_errors=6,
                                                                             uptime_s=110)])]), np.zeros(1, np.uint8))
    states.commit(verdicts, later + 120_000)  # a sweep: everything quiet for more than an hour goes
    assert len(states) == 1
    # a forgotten device starts lenient: errors lower than before are not compared with anything
    v = check(states, [reading(7_300, device="1", hardware_errors=0, uptime_s=200)])
    assert v.reasons.tolist() == [0] and v.flags.tolist() == [0]
