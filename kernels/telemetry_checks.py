"""Telemetry validation, one reading at a time: one reason code per reading (0 = accepted),
`schemas.telemetry.TelemetryReason`.

Arrays in, codes out, no I/O, no state (the checks that need a device's history are in
`kernels.telemetry_series`). `check_reference` below is the plain-Python rule the unit test compares the
kernel against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numba as nb
import numpy as np
import numpy.typing as npt

from schemas.identity import valid_address, valid_worker
from schemas.telemetry import CLASS_RANGES, DEVICE_CLASSES, RANGES, READINGS, TelemetryReason

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Lower and upper bound of each reading, in `READINGS` order (the rows of `check_readings`' `values`).
LOW = np.array([RANGES[name][0] for name in READINGS], dtype=np.float64)
HIGH = np.array([RANGES[name][1] for name in READINGS], dtype=np.float64)
#: The same per device class (rows in `DEVICE_CLASSES` order): `CLASS_RANGES`, else `RANGES`.
CLASS_LOW = np.array([[CLASS_RANGES[c].get(name, RANGES[name])[0] for name in READINGS] for c in DEVICE_CLASSES])
CLASS_HIGH = np.array([[CLASS_RANGES[c].get(name, RANGES[name])[1] for name in READINGS] for c in DEVICE_CLASSES])
#: `class_code` of a device class that is not one of `DEVICE_CLASSES` (no class range applies).
NO_CLASS = 255
_CLASS_INDEX = {name: i for i, name in enumerate(DEVICE_CLASSES)}

_BAD_DEVICE_CLASS = np.uint8(TelemetryReason.BAD_DEVICE_CLASS)
_BAD_ADDRESS = np.uint8(TelemetryReason.BAD_ADDRESS)
_BAD_WORKER = np.uint8(TelemetryReason.BAD_WORKER)
_TIME_SKEW = np.uint8(TelemetryReason.TIME_SKEW)
_NOT_FINITE = np.uint8(TelemetryReason.NOT_FINITE)
_OUT_OF_RANGE = np.uint8(TelemetryReason.OUT_OF_RANGE)
_OUT_OF_CLASS_RANGE = np.uint8(TelemetryReason.OUT_OF_CLASS_RANGE)


def class_code_of(device_class: str) -> int:
    """Index of `device_class` in `DEVICE_CLASSES`, or NO_CLASS."""
    return _CLASS_INDEX.get(device_class, NO_CLASS)


@nb.njit(cache=True, nogil=True)
def _check(ts_ms: I64, ref_ms: I64, device_ok: U8, miner_ok: U8, worker_ok: U8, values: F64, present: B,
           class_code: U8, max_past_ms: int, max_future_ms: int, low: F64, high: F64, class_low: F64,
           class_high: F64) -> U8:
    n_readings, n = values.shape
    out = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        if device_ok[i] == 0:
            out[i] = _BAD_DEVICE_CLASS
            continue
        if miner_ok[i] == 0:
            out[i] = _BAD_ADDRESS
            continue
        if worker_ok[i] == 0:
            out[i] = _BAD_WORKER
            continue
        if ts_ms[i] < ref_ms[i] - max_past_ms or ts_ms[i] > ref_ms[i] + max_future_ms:
            out[i] = _TIME_SKEW
            continue
        reason = np.uint8(0)
        for r in range(n_readings):
            if present[r, i] and not np.isfinite(values[r, i]):
                reason = _NOT_FINITE
                break
        if reason == 0:
            for r in range(n_readings):
                if present[r, i] and not (low[r] <= values[r, i] <= high[r]):
                    reason = _OUT_OF_RANGE
                    break
        c = class_code[i]
        if reason == 0 and c < class_low.shape[0]:
            for r in range(n_readings):
                if present[r, i] and not (class_low[c, r] <= values[r, i] <= class_high[c, r]):
                    reason = _OUT_OF_CLASS_RANGE
                    break
        out[i] = reason
    return out


def check_readings(ts_ms: I64, ref_ms: I64, device_ok: U8, miner_ok: U8, worker_ok: U8, values: F64, present: B,
                   max_past_ms: int, max_future_ms: int, class_code: U8 | None = None) -> U8:
    """Reason per reading, first failing check wins: device class, address, worker (`*_ok` are 1 when
    valid), ts outside [ref - max_past, ref + max_future] (ref = when the source published it), a present
    reading NaN or infinite, a present reading outside [LOW, HIGH], then outside its class's range
    (`class_code`: `class_code_of` the reading's device class; None = no class check). `values` and
    `present` are (len(READINGS), n): each reading's column, and whether the device reported it (absent
    readings are not checked)."""
    n = ts_ms.shape[0]
    codes = np.full(n, NO_CLASS, dtype=np.uint8) if class_code is None else np.ascontiguousarray(class_code, np.uint8)
    return _check(np.ascontiguousarray(ts_ms, np.int64), np.ascontiguousarray(ref_ms, np.int64),
                  np.ascontiguousarray(device_ok, np.uint8), np.ascontiguousarray(miner_ok, np.uint8),
                  np.ascontiguousarray(worker_ok, np.uint8), np.ascontiguousarray(values, np.float64),
                  np.ascontiguousarray(present, np.bool_), codes, int(max_past_ms), int(max_future_ms),
                  LOW, HIGH, CLASS_LOW, CLASS_HIGH)


# ---- plain-Python reference (used by the unit tests) ---------------------------------------------------

def check_reference(ts: int, ref: int, device_class: str, miner: str, worker: str,
                    readings: Mapping[str, float | int | None], max_past_ms: int, max_future_ms: int) -> int:
    if device_class not in DEVICE_CLASSES:
        return int(TelemetryReason.BAD_DEVICE_CLASS)
    if not valid_address(miner):
        return int(TelemetryReason.BAD_ADDRESS)
    if not valid_worker(worker):
        return int(TelemetryReason.BAD_WORKER)
    if ts < ref - max_past_ms or ts > ref + max_future_ms:
        return int(TelemetryReason.TIME_SKEW)
    present = {name: float(value) for name, value in readings.items() if value is not None}
    if any(not math.isfinite(value) for value in present.values()):
        return int(TelemetryReason.NOT_FINITE)
    if any(not RANGES[name][0] <= value <= RANGES[name][1] for name, value in present.items()):
        return int(TelemetryReason.OUT_OF_RANGE)
    bounds = CLASS_RANGES[device_class]
    if any(not bounds[name][0] <= value <= bounds[name][1] for name, value in present.items() if name in bounds):
        return int(TelemetryReason.OUT_OF_CLASS_RANGE)
    return int(TelemetryReason.ACCEPTED)
