"""Telemetry validation: one reason code per reading (0 = accepted), `schemas.telemetry.TelemetryReason`.

Arrays in, codes out, no I/O. Vectorised numpy for now (telemetry is a few readings per device per
minute); a numba kernel can replace it with the same signature. `check_reference` below is the plain-Python
rule its unit test compares against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from schemas.identity import valid_address, valid_worker
from schemas.telemetry import DEVICE_CLASSES, RANGES, READINGS, TelemetryReason

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Lower and upper bound of each reading, in `READINGS` order (the rows of `check_readings`' `values`).
LOW = np.array([RANGES[name][0] for name in READINGS], dtype=np.float64)
HIGH = np.array([RANGES[name][1] for name in READINGS], dtype=np.float64)


def check_readings(ts_ms: I64, ref_ms: I64, device_ok: U8, miner_ok: U8, worker_ok: U8, values: F64, present: B,
                   max_past_ms: int, max_future_ms: int) -> U8:
    """Reason per reading, first failing check wins: device class, address, worker (`*_ok` are 1 when
    valid), ts outside [ref - max_past, ref + max_future] (ref = when the source published it), a present
    reading NaN or infinite, a present reading outside [LOW, HIGH]. `values` and `present` are
    (len(READINGS), n): each reading's column, and whether the device reported it (absent readings are
    not checked)."""
    out = np.zeros(ts_ms.shape[0], dtype=np.uint8)
    absent = ~present
    in_range = ((values >= LOW[:, None]) & (values <= HIGH[:, None])) | absent  # NaN compares False
    finite = np.isfinite(values) | absent
    skew = (ts_ms < ref_ms - max_past_ms) | (ts_ms > ref_ms + max_future_ms)
    # assigned from the last check to the first, so the first failing one is what remains
    out[~in_range.all(axis=0)] = TelemetryReason.OUT_OF_RANGE
    out[~finite.all(axis=0)] = TelemetryReason.NOT_FINITE
    out[skew] = TelemetryReason.TIME_SKEW
    out[worker_ok == 0] = TelemetryReason.BAD_WORKER
    out[miner_ok == 0] = TelemetryReason.BAD_ADDRESS
    out[device_ok == 0] = TelemetryReason.BAD_DEVICE_CLASS
    return out


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
    return int(TelemetryReason.ACCEPTED)
