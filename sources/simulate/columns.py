"""Fast builders of Arrow string columns from numpy arrays (no Python object per row)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_PAIRS = np.empty((256, 2), dtype=np.uint8)
_PAIRS[:, 0] = _HEX[np.arange(256) >> 4]
_PAIRS[:, 1] = _HEX[np.arange(256) & 15]
#: byte value -> its two lowercase hex digits, as one uint16 in memory order
_HEX_PAIR: np.ndarray = _PAIRS.view(np.uint16).ravel()


def hex_column(values: np.ndarray, nbytes: int) -> pa.StringArray:
    """Fixed-width lowercase big-endian hex of unsigned integers: `nbytes` bytes -> 2·nbytes digits."""
    if not 1 <= nbytes <= 8:
        raise ValueError("nbytes must be 1..8")
    raw = np.ascontiguousarray(values, dtype=">u8").view(np.uint8).reshape(-1, 8)[:, 8 - nbytes :]
    data = np.ascontiguousarray(_HEX_PAIR[raw])
    offsets = np.arange(len(values) + 1, dtype=np.int32) * (2 * nbytes)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))


def take_strings(dictionary: pa.StringArray, indices: np.ndarray) -> pa.StringArray:
    """`dictionary[indices]` as a plain (not dictionary-encoded) string column."""
    out: pa.StringArray = dictionary.take(pa.array(indices, type=pa.int32()))
    return out
