"""The TelemetryReading event on the `telemetry` topic: one device's hardware readings at one time."""

from __future__ import annotations

import msgspec

TELEMETRY_VERSION = 1


class TelemetryReading(msgspec.Struct, frozen=True, kw_only=True):
    """Readings of one device. Units: H/s, °C, rpm, %, W, V, MHz, MB, seconds. Missing readings are None."""

    ts: int  # ms since the Unix epoch, UTC
    miner: str
    worker: str
    device_class: str  # CPU, GPU or ASIC
    device_id: str = "0"
    model: str = ""
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


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(TelemetryReading)


def encode_telemetry(reading: TelemetryReading) -> bytes:
    return _encoder.encode(reading)


def decode_telemetry(data: bytes) -> TelemetryReading:
    return _decoder.decode(data)
