"""The readings of a telemetry Arrow table as the arrays `kernels.telemetry_checks.check_readings` takes: one
preparation for every caller (the telemetry agent, POST /api/v1/telemetry)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from schemas.telemetry import READINGS


def reading_arrays(readings: pa.Table | pa.RecordBatch) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """(values, present), each (len(READINGS), rows): every reading column as float64 (absent ones 0.0) and
    whether the device reported it."""
    values = np.empty((len(READINGS), readings.num_rows), dtype=np.float64)
    present = np.empty((len(READINGS), readings.num_rows), dtype=np.bool_)
    for row, name in enumerate(READINGS):
        column = readings.column(name)
        present[row] = pc.is_valid(column).to_numpy(zero_copy_only=False)
        # unsafe: an int64 beyond 2^53 rounds, and is still far out of any range it could be in
        values[row] = pc.fill_null(column.cast(pa.float64(), safe=False), 0.0).to_numpy(zero_copy_only=False)
    return values, present
