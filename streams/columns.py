"""Arrow columns seen as numpy arrays for the kernels, without copies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


def string_buffers(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    """(offsets, bytes) of a string column: value i is bytes[offsets[i]:offsets[i+1]]."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def dictionary_codes(
    column: pa.Array | pa.ChunkedArray, code_of: Callable[[str], int]
) -> tuple[npt.NDArray[np.uint8], pa.DictionaryArray]:
    """A low-cardinality string column as one byte per row via `code_of` (called once per distinct value),
    and the column dictionary-encoded (one array: ClickHouse takes it as is, without re-hashing strings)."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    table = np.array([code_of(v) for v in encoded.dictionary.to_pylist()], dtype=np.uint8)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    if len(table) == 0:
        return np.zeros(len(indices), dtype=np.uint8), encoded
    codes: npt.NDArray[np.uint8] = table[indices]
    return codes, encoded


def lookup_codes(column: pa.Array | pa.ChunkedArray, code_of: Callable[[str], int]) -> npt.NDArray[np.uint8]:
    """Map a low-cardinality string column to one byte per row via `code_of` (called once per distinct value)."""
    return dictionary_codes(column, code_of)[0]


def names_dictionary(codes: npt.NDArray[np.uint8], names: tuple[str, ...]) -> pa.DictionaryArray:
    """A dictionary-encoded string column from one-byte codes (< 128) and the names they stand for, no copy
    of the codes."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.view(np.int8), type=pa.int8()), pa.array(names))

