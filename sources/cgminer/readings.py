"""A rig's cgminer answers -> one `TelemetryReading` per device, at the time it was polled.

Devices, first that applies: Antminer hashboards from `stats` (`chain_rate<i>` present: device `chain<i>`,
GH/s, chip temperature `temp2_<i>` else board `temp<i>`, `chain_hw<i>`, `freq_avg<i>`); else each `devs`
entry (`ASC<n>`, `GPU<n>`, `PGA<n>`: `MHS 5s` (or `av`, any of K/M/G/THS), `Temperature`, `Fan Speed`,
`Fan Percent`, `Hardware Errors`, `Device Elapsed`, GPU clocks, voltage and activity); else the `summary` as
one device `rig`. Rig-level figures fill what a device lacks: fans (Antminer `fan<k>`; when fewer fans spin
than `fan_num` says, the rig reports 0 rpm: a dead fan), Whatsminer `Fan Speed In/Out` (the slower),
uptime (`Elapsed`), and power (Whatsminer `Power`, or `Power`/`chain_power` in `stats`) split over the
devices in proportion to their hashrate. The model is `stats`' `Type` (else `Miner`, else the device name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.telemetry import TelemetryReading
from sources.cgminer.protocol import Answer

_RATE_UNITS = (("THS", 1e12), ("GHS", 1e9), ("MHS", 1e6), ("KHS", 1e3))
_NUMBER = re.compile(r"(?<!\d)-?\d+(?:\.\d+)?")  # "60-62-75": dashes separate
Fields = Mapping[str, Any]


def number(value: Any) -> float | None:
    """A figure as float: numbers as they are, strings like "14000.12" or "3250 W" or "60-62-75" (the
    largest), None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        found = [float(x) for x in _NUMBER.findall(value)]
        return max(found) if found else None
    return None


def hashrate(fields: Fields) -> float | None:
    """H/s from `<unit> 5s`, else `<unit> av`."""
    for suffix in ("5s", "av"):
        for unit, scale in _RATE_UNITS:
            value = number(fields.get(f"{unit} {suffix}"))
            if value is not None:
                return value * scale
    return None


def _int(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None else None


def _first(fields: Fields, *keys: str) -> float | None:
    for key in keys:
        value = number(fields.get(key))
        if value is not None:
            return value
    return None


def rig_fan(stats: Fields, summary: Fields) -> float | None:
    """The rig's fan in rpm: the slowest spinning Antminer fan (0 if fewer spin than `fan_num`), or the
    slower of Whatsminer's intake and outtake."""
    fans = [v for k, v in stats.items() if re.fullmatch(r"fan\d+", k) and number(v) is not None]
    if fans:
        spinning = [number(v) or 0.0 for v in fans if (number(v) or 0.0) > 0]
        expected = _int(stats.get("fan_num"))
        if not spinning or (expected is not None and len(spinning) < expected):
            return 0.0
        return min(spinning)
    sides = [x for x in (number(summary.get("Fan Speed In")), number(summary.get("Fan Speed Out"))) if x is not None]
    return min(sides) if sides else None


def rig_power(stats: Fields, summary: Fields) -> float | None:
    return _first(summary, "Power", "Power_RT") or _first(stats, "Power", "power", "chain_power")


def _chains(stats: Fields) -> list[dict[str, Any]]:
    out = []
    for key in sorted(stats, key=lambda k: (len(k), k)):
        found = re.fullmatch(r"chain_rate(\d+)", key)
        rate = number(stats[key]) if found else None
        if found is None or rate is None:
            continue
        i = found.group(1)
        temperature = _first(stats, f"temp2_{i}", f"temp_chip{i}")
        if not temperature:
            temperature = _first(stats, f"temp{i}", f"temp_pcb{i}")
        out.append({"device_id": f"chain{i}", "hashrate": rate * 1e9, "temperature_c": temperature,
                    "hardware_errors": _int(stats.get(f"chain_hw{i}")),
                    "core_clock_mhz": _first(stats, f"freq_avg{i}")})
    return out


def _device(dev: Fields, index: int) -> dict[str, Any]:
    kind = next((k for k in ("ASC", "GPU", "PGA") if k in dev), "ASC")
    return {
        "device_id": f"{kind}{_int(dev.get(kind)) if kind in dev else index}",
        "device_class": "GPU" if kind == "GPU" else "ASIC",
        "hashrate": hashrate(dev),
        "temperature_c": _first(dev, "Temperature", "Chip Temp Avg"),
        "fan_rpm": _first(dev, "Fan Speed"),
        "fan_pct": _first(dev, "Fan Percent"),
        "hardware_errors": _int(dev.get("Hardware Errors")),
        "uptime_s": _int(dev.get("Device Elapsed")),
        "core_clock_mhz": _first(dev, "GPU Clock"),
        "memory_clock_mhz": _first(dev, "Memory Clock"),
        "voltage": _first(dev, "GPU Voltage"),
        "utilization_pct": _first(dev, "GPU Activity"),
        "model": str(dev.get("Name", "")),
    }


def _rig_stats(answers: Mapping[str, Answer]) -> tuple[dict[str, Any], str]:
    """The stats entry with the figures (bmminer puts its version first, the figures second), and the model."""
    merged: dict[str, Any] = {}
    model = ""
    for item in answers.get("stats", {}).get("STATS", []):
        model = model or str(item.get("Type") or item.get("Miner") or "")
        merged.update(item)
    return merged, model


def to_readings(answers: Mapping[str, Answer], miner: str, worker: str, ts_ms: int) -> list[TelemetryReading]:
    """The rig's devices as readings (none if no answer said anything about hardware). `answers` maps a command
    (summary, devs, stats, pools) to its parsed answer; a command that failed is simply absent."""
    summary: Fields = next(iter(answers.get("summary", {}).get("SUMMARY", [])), {})
    stats, model = _rig_stats(answers)
    devices = _chains(stats) or [_device(d, i) for i, d in enumerate(answers.get("devs", {}).get("DEVS", []))]
    if not devices and summary:
        devices = [{"device_id": "rig", "hashrate": hashrate(summary),
                    "temperature_c": _first(summary, "Temperature"),
                    "hardware_errors": _int(summary.get("Hardware Errors"))}]
    fan = rig_fan(stats, summary)
    uptime = _int(stats.get("Elapsed", summary.get("Elapsed")))
    power = rig_power(stats, summary)
    total = sum(d.get("hashrate") or 0.0 for d in devices)
    out = []
    for device in devices:
        fields = {k: v for k, v in device.items() if v is not None and v != ""}
        fields.setdefault("device_class", "ASIC")
        fields.setdefault("model", model)
        fields["model"] = str(model or fields["model"])[:64]
        if fan is not None and "fan_rpm" not in fields and "fan_pct" not in fields:
            fields["fan_rpm"] = fan
        if uptime is not None:
            fields.setdefault("uptime_s", uptime)
        if power is not None:
            share = (device.get("hashrate") or 0.0) / total if total > 0 else 1.0 / len(devices)
            fields["power_w"] = power * share
        out.append(TelemetryReading(ts=ts_ms, miner=miner, worker=worker, **fields))
    return out
