"""The telemetry agent's memory of each device, across batches: what the stateful checks
(`kernels.telemetry_series`) compare a reading with — last ts and counters, how long each sensor has held its
value, a ring of recent temperature / power / hashrate readings.

One `DeviceStates` per agent, used from the agent's checks step only (one thread at a time). `check` reads the
state and returns the batch's verdicts with the state after it; `commit` stores that state, so a batch checked
again (the runtime retries a failed step) gets the same answer. Bounded: a device with no reading for
`idle_ms` (event time, 1 h) is forgotten, and beyond `max_devices` the longest quiet ones are. The state is not
persisted: after a restart, a rebalance that moves a partition, or an eviction, a device's checks start
lenient again (no counter comparison, stuck clock and spike window empty) until its history refills. Readings
are taken per device in ts order; one at or before its device's last ts is checked only by the stateless
checks (`kernels.telemetry_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from kernels.telemetry_series import NONE, WINDOW, check_counters, check_spikes, check_stuck, in_order

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

KEY_COLUMNS = ("miner", "worker", "device_class", "device_id")  # a device (the table's key without ts)
STUCK_SENSORS = ("temperature_c", "fan_rpm")
STUCK_SKIP_ZERO = np.array([False, True])
SPIKE_SERIES = ("temperature_c", "power_w", "hashrate")
SPIKE_FLOORS = np.array([1.0, 1.0, 1.0])  # °C, W, H/s: see kernels.telemetry_series.REL_FLOOR
NEVER = np.iinfo(np.int64).min
SWEEP_EVERY_MS = 60_000


@dataclass(frozen=True)
class Verdicts:
    """What the stateful checks say about a batch, and the state of its devices after it (for `commit`)."""

    reasons: U8  # the batch's reasons, COUNTER_BACKWARDS added
    flags: U16  # TelemetryFlag per reading
    keys: list[str]  # the batch's devices
    slots: I64  # their slots when the batch was checked (-1: a device not known then)
    state: dict[str, npt.NDArray[Any]]  # name -> one row per key (`DeviceStates._empty`)


def _column(readings: pa.Table, name: str, dtype: type, fill: float) -> tuple[npt.NDArray[Any],
                                                                            npt.NDArray[np.bool_]]:
    column = readings.column(name)
    present = pc.is_valid(column).to_numpy(zero_copy_only=False)
    values = pc.fill_null(column, fill).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return values, present


class DeviceStates:
    """The state of up to `max_devices` devices, one slot each (arrays grown by doubling, slots reused)."""

    def __init__(self, stuck_after_s: float, spike_z: float, *, max_devices: int = 100_000,
                 idle_ms: int = 3_600_000) -> None:
        self.stuck_after_ms = int(stuck_after_s * 1000)
        self.spike_z = float(spike_z)
        self.max_devices = max_devices
        self.idle_ms = idle_ms
        self._slot: dict[str, int] = {}
        self._keys: list[str | None] = []
        self._free: list[int] = []
        self._swept_ms = NEVER
        self._arrays = self._empty(0)

    def __len__(self) -> int:
        return len(self._slot)

    # ---- check / commit ---------------------------------------------------------------------------------

    def check(self, readings: pa.Table, reasons: U8) -> Verdicts:
        """The stateful verdicts on `readings` (TELEMETRY_SCHEMA) whose stateless `reasons` are given (only
        readings with reason 0 are checked or change the state). Reads the state, never writes it."""
        n = readings.num_rows
        joined = pc.binary_join_element_wise(*(readings.column(c) for c in KEY_COLUMNS), "\x1f")
        encoded = pc.dictionary_encode(joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined)
        keys: list[str] = encoded.dictionary.to_pylist()
        dev_unsorted = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        ts_unsorted = readings.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
        order = np.lexsort((ts_unsorted, dev_unsorted))
        dev, ts = dev_unsorted[order], ts_unsorted[order]
        use = reasons[order] == 0

        slots = np.array([self._slot.get(k, -1) for k in keys], dtype=np.int64)
        old = self._gather(slots)
        new: dict[str, npt.NDArray[Any]] = {}
        fresh, new["last_ts"] = in_order(dev, ts, use, old["last_ts"])
        errors, errors_present = _column(readings, "hardware_errors", np.int64, 0)
        uptime, uptime_present = _column(readings, "uptime_s", np.int64, 0)
        c_reason, c_flag, new["errors"], new["uptime"] = check_counters(
            dev, fresh, errors[order], errors_present[order], uptime[order], uptime_present[order],
            old["errors"], old["uptime"])
        ok = fresh & (c_reason == 0)
        values, present = self._matrix(readings, STUCK_SENSORS, order)
        s_flag, new["held"], new["since"] = check_stuck(dev, ts, ok, values, present, STUCK_SKIP_ZERO, old["held"],
                                                        old["since"], self.stuck_after_ms)
        values, present = self._matrix(readings, SPIKE_SERIES, order)
        z_flag, new["ring"], new["ring_sorted"], new["ring_len"], new["ring_pos"] = check_spikes(
            dev, ok, values, present, old["ring"], old["ring_sorted"], old["ring_len"], old["ring_pos"],
            self.spike_z, SPIKE_FLOORS)
        out_reasons = reasons.copy()
        out_reasons[order] = np.where(c_reason != 0, c_reason, reasons[order])
        flags = np.zeros(n, dtype=np.uint16)
        flags[order] = c_flag | s_flag | z_flag
        return Verdicts(out_reasons, flags, keys, slots, new)

    def commit(self, verdicts: Verdicts, now_ms: int) -> None:
        """Keep the state `check` computed; forget devices idle past `idle_ms` (swept once a minute) and the
        quietest beyond `max_devices`. Only `commit` changes the state, so the slots `check` saw still hold."""
        slots = verdicts.slots.copy()
        for i in np.flatnonzero(slots < 0).tolist():
            slots[i] = self._slot_for(verdicts.keys[i])
        for name, rows in verdicts.state.items():
            self._arrays[name][slots] = rows
        last_ts = self._arrays["last_ts"]
        if now_ms - self._swept_ms >= SWEEP_EVERY_MS:
            self._swept_ms = now_ms
            live = np.flatnonzero(self._in_use())
            self._evict(live[last_ts[live] < now_ms - self.idle_ms])
        if len(self._slot) > self.max_devices:
            live = np.flatnonzero(self._in_use())
            quietest = live[np.argsort(last_ts[live], kind="stable")]
            self._evict(quietest[: len(self._slot) - self.max_devices])

    # ---- storage ----------------------------------------------------------------------------------------

    @staticmethod
    def _empty(k: int) -> dict[str, npt.NDArray[Any]]:
        s, z = len(STUCK_SENSORS), len(SPIKE_SERIES)
        return {"last_ts": np.full(k, NEVER, np.int64), "errors": np.full(k, NONE, np.int64),
                "uptime": np.full(k, NONE, np.int64), "held": np.full((k, s), np.nan),
                "since": np.zeros((k, s), np.int64), "ring": np.zeros((k, z, WINDOW)),
                "ring_sorted": np.zeros((k, z, WINDOW)), "ring_len": np.zeros((k, z), np.int64),
                "ring_pos": np.zeros((k, z), np.int64)}

    def _gather(self, slots: I64) -> dict[str, npt.NDArray[Any]]:
        state = self._empty(len(slots))
        known = slots >= 0
        if known.any():
            for name, array in state.items():
                array[known] = self._arrays[name][slots[known]]
        return state

    def _slot_for(self, key: str) -> int:
        slot = self._slot.get(key)
        if slot is None:
            if not self._free:
                old = len(self._keys)
                grow = max(1024, old)
                self._keys.extend([None] * grow)
                self._free.extend(range(old + grow - 1, old - 1, -1))
                self._arrays = {name: np.concatenate([self._arrays[name], array])
                                for name, array in self._empty(grow).items()}
            slot = self._free.pop()
            self._slot[key] = slot
            self._keys[slot] = key
        return slot

    def _in_use(self) -> npt.NDArray[np.bool_]:
        return np.array([k is not None for k in self._keys], dtype=np.bool_)

    def _evict(self, slots: I64) -> None:
        if not len(slots):
            return
        for slot in slots.tolist():
            key = self._keys[slot]
            if key is not None:
                del self._slot[key]
                self._keys[slot] = None
                self._free.append(slot)
        for name, array in self._empty(len(slots)).items():
            self._arrays[name][slots] = array

    @staticmethod
    def _matrix(readings: pa.Table, names: tuple[str, ...], order: I64) -> tuple[F64, npt.NDArray[np.bool_]]:
        values = np.empty((len(names), len(order)), np.float64)
        present = np.empty((len(names), len(order)), np.bool_)
        for s, name in enumerate(names):
            v, p = _column(readings, name, np.float64, 0.0)
            values[s], present[s] = v[order], p[order]
        return values, present

