"""The TelemetryReading event on the `telemetry` topic: one device's hardware readings at one time.

Three wire forms on one topic, as for shares: one JSON reading, a JSON array of them, or an Arrow IPC stream
of many (`TELEMETRY_SCHEMA`, version in the schema metadata). All decode to one `pyarrow.RecordBatch` with
`TELEMETRY_SCHEMA` (`decode_payload`); a message that does not is undecodable (`DecodeError`). Whether a
decoded reading is valid (`TelemetryReason`, `RANGES`, `CLASS_RANGES`) or stored with a flag (`TelemetryFlag`) is
decided by `kernels.telemetry_checks` and `kernels.telemetry_series`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from schemas.hardware import HARDWARE_CLASSES
from schemas.untrusted import JSON_ERRORS, ArrowStreamError, encode_stream, read_stream

TELEMETRY_VERSION = 1
READABLE_VERSIONS = (1,)
DEVICE_CLASSES: tuple[str, ...] = tuple(c.upper() for c in HARDWARE_CLASSES)  # CPU, GPU, ASIC
ARROW_MAGIC = b"\xff\xff\xff\xff"  # Arrow IPC continuation marker: how an Arrow message starts
#: Longest text field, in characters (JSON) or UTF-8 bytes (Arrow); a longer one is undecodable.
MAX_TEXT = 128
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]


class DecodeError(ValueError):
    """A message on the `telemetry` topic that is neither JSON readings nor an Arrow batch of them."""


class TelemetryReading(msgspec.Struct, frozen=True, kw_only=True):
    """Readings of one device. Units: H/s, °C, rpm, %, W, V, MHz, MB, seconds. Missing readings are None."""

    ts: int  # ms since the Unix epoch, UTC
    miner: Text
    worker: Text
    device_class: Text  # CPU, GPU or ASIC
    device_id: Text = "0"
    model: Text = ""
    hashrate: float | None = None
    temperature_c: float | None = None
    fan_rpm: float | None = None
    fan_pct: float | None = None
    power_w: float | None = None
    voltage: float | None = None
    core_clock_mhz: float | None = None
    memory_clock_mhz: float | None = None
    utilization_pct: float | None = None
    memory_used_mb: float | None = None
    hardware_errors: int | None = None
    uptime_s: int | None = None
    v: int = TELEMETRY_VERSION


class TelemetryReason(enum.IntEnum):
    """Why a decoded reading is rejected (first failing check wins, in this order); a stable name on the
    dead-letter topic and in metrics."""

    ACCEPTED = 0
    BAD_DEVICE_CLASS = 1  # not one of DEVICE_CLASSES
    BAD_ADDRESS = 2  # miner fails the address rule (`schemas.identity.valid_address`)
    BAD_WORKER = 3  # worker fails the worker rule (`schemas.identity.valid_worker`)
    TIME_SKEW = 4  # ts outside [published - max past, published + max future] (the share agent's bounds)
    NOT_FINITE = 5  # a reading is NaN or infinite
    OUT_OF_RANGE = 6  # a reading outside RANGES: no device can report it
    OUT_OF_CLASS_RANGE = 7  # inside RANGES, but outside CLASS_RANGES of its device class
    COUNTER_BACKWARDS = 8  # hardware_errors went down while uptime_s did not (no reboot): a broken counter

    @property
    def wire(self) -> str:
        return self.name.lower()


TELEMETRY_REASON_NAMES: tuple[str, ...] = tuple(r.wire for r in TelemetryReason)


class TelemetryFlag(enum.IntFlag):
    """Why a stored reading is suspicious (the `flags` column of `telemetry`, UInt16; 0 = clean). A flagged
    reading is plausible, so it is kept; readers (rollups, alerts) decide what a flag means to them."""

    CLEAN = 0
    STUCK = 1  # temperature or (non-zero) fan rpm exactly constant for TELEMETRY_STUCK_AFTER_S or longer
    SPIKE = 2  # temperature, power or hashrate beyond TELEMETRY_SPIKE_Z robust z-scores of the device's recent values
    COUNTER_RESET = 4  # uptime_s went back (a reboot), or hardware_errors went back with no uptime to tell


TELEMETRY_FLAG_NAMES: dict[int, str] = {int(f): str(f.name).lower() for f in TelemetryFlag if f.value}

#: What a device can physically report, inclusive; wider than any hardware, so a value outside is a broken
#: sensor or a hostile producer.
RANGES: dict[str, tuple[float, float]] = {
    "hashrate": (0.0, 1e18),  # H/s; the fastest ASICs do ~1e15
    "temperature_c": (-40.0, 150.0),
    "fan_rpm": (0.0, 50_000.0),
    "fan_pct": (0.0, 100.0),
    "power_w": (0.0, 100_000.0),
    "voltage": (0.0, 1_000.0),
    "core_clock_mhz": (0.0, 100_000.0),
    "memory_clock_mhz": (0.0, 100_000.0),
    "utilization_pct": (0.0, 100.0),
    "memory_used_mb": (0.0, 1e9),
    "hardware_errors": (0, 2**62),
    "uptime_s": (0, 100 * 365 * 86_400),
}

TELEMETRY_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("miner", pa.string(), nullable=False),
        pa.field("worker", pa.string(), nullable=False),
        pa.field("device_class", pa.string(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("hashrate", pa.float64()),
        pa.field("temperature_c", pa.float64()),
        pa.field("fan_rpm", pa.float64()),
        pa.field("fan_pct", pa.float64()),
        pa.field("power_w", pa.float64()),
        pa.field("voltage", pa.float64()),
        pa.field("core_clock_mhz", pa.float64()),
        pa.field("memory_clock_mhz", pa.float64()),
        pa.field("utilization_pct", pa.float64()),
        pa.field("memory_used_mb", pa.float64()),
        pa.field("hardware_errors", pa.int64()),
        pa.field("uptime_s", pa.int64()),
    ],
    metadata={b"poolstream.event": b"telemetry", b"poolstream.version": str(TELEMETRY_VERSION).encode()},
)
READINGS: tuple[str, ...] = tuple(RANGES)  # the nullable reading columns

#: What a device of each class can report, inclusive, where narrower than RANGES (the other readings keep
#: RANGES). Still generous: the hottest junctions, the fastest server fans, liquid-nitrogen clock records,
#: the largest hydro ASICs; a value outside is not that class's hardware working, whatever its health.
#: Voltage is core voltage or a rail (GPU/CPU boards: 12 V), for ASICs also the PSU input.
CLASS_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "CPU": {"temperature_c": (-40.0, 125.0), "fan_rpm": (0.0, 30_000.0), "power_w": (0.0, 2_000.0),
            "voltage": (0.0, 20.0), "core_clock_mhz": (0.0, 10_000.0), "memory_clock_mhz": (0.0, 12_000.0)},
    "GPU": {"temperature_c": (-40.0, 130.0), "fan_rpm": (0.0, 10_000.0), "power_w": (0.0, 2_000.0),
            "voltage": (0.0, 20.0), "core_clock_mhz": (0.0, 5_000.0), "memory_clock_mhz": (0.0, 40_000.0)},
    "ASIC": {"temperature_c": (-40.0, 140.0), "fan_rpm": (0.0, 20_000.0), "power_w": (0.0, 25_000.0),
             "voltage": (0.0, 500.0), "core_clock_mhz": (0.0, 3_000.0), "memory_clock_mhz": (0.0, 10_000.0)},
}
_TEXT_COLUMNS = ("miner", "worker", "device_class", "device_id", "model")
_FIELD_INDEX = {name: i for i, name in enumerate(TelemetryReading.__struct_fields__)}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(TelemetryReading)
_decoder_many = msgspec.json.Decoder(list[TelemetryReading])


def encode_telemetry(reading: TelemetryReading) -> bytes:
    return _encoder.encode(reading)


def decode_telemetry(data: bytes) -> TelemetryReading:
    return _decoder.decode(data)


def readings_to_batch(readings: Sequence[TelemetryReading]) -> pa.RecordBatch:
    """Columnar form of readings. Raises DecodeError if a value does not fit its column (an integer beyond
    int64, a ts beyond the timestamp range)."""
    columns = list(zip(*(msgspec.structs.astuple(r) for r in readings), strict=True))
    if not columns:
        return pa.RecordBatch.from_pylist([], schema=TELEMETRY_SCHEMA)
    try:
        arrays = [pa.array(columns[_FIELD_INDEX[f.name]], type=f.type) for f in TELEMETRY_SCHEMA]
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        raise DecodeError(f"a value does not fit its column: {type(exc).__name__}: {str(exc)[:200]}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=TELEMETRY_SCHEMA)


def encode_arrow(batch: pa.RecordBatch) -> bytes:
    """One Arrow IPC stream holding `batch` (must have `TELEMETRY_SCHEMA`)."""
    return encode_stream(batch, TELEMETRY_SCHEMA)


def _decode_json(data: bytes) -> pa.RecordBatch:
    try:
        readings = _decoder_many.decode(data) if data[:1] == b"[" else [_decoder.decode(data)]
    except JSON_ERRORS as exc:
        raise DecodeError(f"invalid JSON reading: {type(exc).__name__}: {str(exc)[:200]}") from None
    for reading in readings:
        if reading.v not in READABLE_VERSIONS:
            raise DecodeError(f"unsupported telemetry version {reading.v} (this build reads {READABLE_VERSIONS})")
    return readings_to_batch(readings)


def _decode_arrow(data: bytes) -> pa.RecordBatch:
    try:
        _, schema, batch = read_stream(data, (TELEMETRY_SCHEMA,))
    except ArrowStreamError as exc:
        raise DecodeError(f"invalid Arrow telemetry batch: {exc}") from None
    version = (schema.metadata or {}).get(b"poolstream.version", b"")
    if version not in {str(v).encode() for v in READABLE_VERSIONS}:
        raise DecodeError(f"unsupported telemetry version {version!r} (this build reads {READABLE_VERSIONS})")
    for name in _TEXT_COLUMNS:
        if batch.num_rows and pc.max(pc.binary_length(batch.column(name))).as_py() > MAX_TEXT:
            raise DecodeError(f"{name} longer than {MAX_TEXT} bytes")
    return batch.replace_schema_metadata(TELEMETRY_SCHEMA.metadata)


def decode_payload(data: bytes) -> pa.RecordBatch:
    """The readings of one `telemetry` message, at least one. Raises `DecodeError`."""
    if data[:4] == ARROW_MAGIC:
        batch = _decode_arrow(data)
    else:
        stripped = data.lstrip()
        if stripped[:1] not in (b"{", b"["):
            raise DecodeError("message is neither JSON nor an Arrow IPC stream")
        batch = _decode_json(stripped)
    if batch.num_rows == 0:
        raise DecodeError("no readings in the message")
    return batch
