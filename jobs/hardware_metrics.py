"""Job `hardware_metrics`: refresh the hardware gauges of the default Prometheus registry (served at /metrics).

Fleet, per device class (cpu, gpu, asic; the latest closed minute of each device in the last 10 minutes of
`telemetry_1m`): `poolstream_fleet_temperature_celsius{class,stat=avg|max}`, `poolstream_fleet_power_watts`,
`poolstream_fleet_utilization_pct`, `poolstream_fleet_devices`. Per rig (`rig_figures` over the last 24 h):
`poolstream_rig_efficiency{miner,worker,unit}`, `poolstream_rig_revenue_base_units{miner,worker,coin}`,
`poolstream_rig_power_cost{miner,worker,currency}`, `poolstream_rig_profit{...}` (rigs with a profit).
Seed 004's series, where the data exists: `cocoon_worker_status{miner,worker}` (1 = an accepted share in the
last 10 minutes, 0 = seen in 24 h but not since), `cocoon_gpu_utilization`, `cocoon_gpu_memory_used_gb`,
`cocoon_gpu_temperature_celsius` (per GPU: miner, worker, device), `cocoon_worker_errors_total` (hardware
errors counted in the last 24 h). Not exported: `cocoon_revenue_ton` (no TON here: revenue is
`poolstream_rig_revenue_base_units` per coin) and `cocoon_inference_requests_total` (no inference).
Two reads plus `rig_figures` per run (default every 60 s), never on the scrape path.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from schemas.clock import Clock, SystemClock
from schemas.hardware import HARDWARE_CLASSES, hardware_class
from sinks.rig_figures import RigFigures, RigSettings, rig_figures

WINDOW_S = 86_400
RECENT_MS = 600_000
_DEVICES = (
    "SELECT miner, worker, lower(device_class), device_id, argMax(temperature_avg, minute), "
    "argMax(temperature_max, minute), argMax(power_avg_w, minute), argMax(utilization_avg, minute), "
    "argMax(memory_used_avg, minute) FROM telemetry_1m FINAL "
    "WHERE minute >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') GROUP BY miner, worker, device_class, device_id"
)
_ONLINE = (
    "SELECT DISTINCT miner, worker FROM shares_1m "
    "WHERE bucket >= toStartOfMinute(fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')) "
    "AND last_accepted_ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')"
)


@dataclass(frozen=True)
class HardwareGauges:
    temperature: Gauge
    power: Gauge
    utilization: Gauge
    devices: Gauge
    efficiency: Gauge
    revenue: Gauge
    power_cost: Gauge
    profit: Gauge
    worker_status: Gauge
    gpu_utilization: Gauge
    gpu_memory: Gauge
    gpu_temperature: Gauge
    worker_errors: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry = REGISTRY) -> HardwareGauges:
        def g(name: str, doc: str, labels: list[str]) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        rig = ["miner", "worker"]
        gpu = ["miner", "worker", "device"]
        return cls(
            g("poolstream_fleet_temperature_celsius", "Device temperature per class (avg, max)", ["class", "stat"]),
            g("poolstream_fleet_power_watts", "Power drawn per class", ["class"]),
            g("poolstream_fleet_utilization_pct", "Mean device utilisation per class", ["class"]),
            g("poolstream_fleet_devices", "Devices reporting per class (10 min)", ["class"]),
            g("poolstream_rig_efficiency", "Joules per unit of work (24 h)", [*rig, "unit"]),
            g("poolstream_rig_revenue_base_units", "Revenue over 24 h, base units", [*rig, "coin"]),
            g("poolstream_rig_power_cost", "Power cost over 24 h", [*rig, "currency"]),
            g("poolstream_rig_profit", "Revenue minus power cost over 24 h", [*rig, "currency"]),
            g("cocoon_worker_status", "1: accepted share in the last 10 minutes, 0: not", rig),
            g("cocoon_gpu_utilization", "GPU utilisation, %", gpu),
            g("cocoon_gpu_memory_used_gb", "GPU memory used, GB", gpu),
            g("cocoon_gpu_temperature_celsius", "GPU temperature", gpu),
            g("cocoon_worker_errors_total", "Hardware errors counted in the last 24 h", rig),
        )


_DEFAULT: HardwareGauges | None = None


def default_gauges() -> HardwareGauges:
    """The gauges in the default registry (registered once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = HardwareGauges.register()
    return _DEFAULT


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def fleet(devices: Sequence[Sequence[Any]]) -> dict[str, dict[str, float | None]]:
    """Per class: avg/max temperature, Σ power, mean utilisation and the device count."""
    by: defaultdict[str, list[Sequence[Any]]] = defaultdict(list)
    for d in devices:
        by[hardware_class(str(d[2]))].append(d)
    out: dict[str, dict[str, float | None]] = {}
    for cls in (*HARDWARE_CLASSES, "unknown"):
        rows = by.get(cls, [])
        temps = [float(r[4]) for r in rows if r[4] is not None]
        maxima = [float(r[5]) for r in rows if r[5] is not None]
        powers = [float(r[6]) for r in rows if r[6] is not None]
        utils = [float(r[7]) for r in rows if r[7] is not None]
        out[cls] = {"avg": _mean(temps), "max": max(maxima) if maxima else None,
                    "power": sum(powers) if powers else None, "utilization": _mean(utils), "devices": len(rows)}
    return out


@dataclass
class HardwareMetricsJob:
    client: Client
    gauges: HardwareGauges
    rigs: RigSettings
    clock: Clock = field(default_factory=SystemClock)
    figures: Callable[[Client, int, int, RigSettings], list[RigFigures]] = rig_figures
    id: str = "hardware_metrics"
    interval_s: float = 60.0

    async def run(self) -> None:
        await asyncio.to_thread(self.run_once)

    def run_once(self) -> None:
        now_ms = self.clock.now_ms()
        params = {"from_ms": now_ms - RECENT_MS}
        devices = self.client.query(_DEVICES, parameters=params).result_rows
        online = {(str(m), str(w)) for m, w in self.client.query(_ONLINE, parameters=params).result_rows}
        rigs = self.figures(self.client, now_ms, WINDOW_S, self.rigs)
        g = self.gauges
        for gauge in (g.temperature, g.power, g.utilization, g.devices, g.efficiency, g.revenue, g.power_cost,
                      g.profit, g.worker_status, g.gpu_utilization, g.gpu_memory, g.gpu_temperature, g.worker_errors):
            gauge.clear()
        for cls, f in fleet(devices).items():
            for stat in ("avg", "max"):
                _set(g.temperature, (cls, stat), f[stat])
            _set(g.power, (cls,), f["power"])
            _set(g.utilization, (cls,), f["utilization"])
            _set(g.devices, (cls,), f["devices"])
        for m, w, cls, device, temp, _, _, util, mem in devices:
            if hardware_class(str(cls)) == "gpu":
                labels = (str(m), str(w), str(device))
                _set(g.gpu_utilization, labels, util)
                _set(g.gpu_memory, labels, None if mem is None else float(mem) / 1024)
                _set(g.gpu_temperature, labels, temp)
        for r in rigs:
            g.worker_status.labels(r.miner, r.worker).set(1 if (r.miner, r.worker) in online else 0)
            g.worker_errors.labels(r.miner, r.worker).set(r.hardware_errors)
            if r.efficiency is not None and r.efficiency_unit is not None:
                g.efficiency.labels(r.miner, r.worker, r.efficiency_unit).set(r.efficiency)
            if r.coin is not None:
                g.revenue.labels(r.miner, r.worker, r.coin).set(r.revenue_base_units)
            g.power_cost.labels(r.miner, r.worker, r.currency).set(float(r.power_cost))
            if r.profit is not None:
                g.profit.labels(r.miner, r.worker, r.currency).set(float(r.profit))


def _set(gauge: Gauge, labels: tuple[str, ...], value: float | None) -> None:
    """Set the series only when there is a value (a labelled series exists from its first `labels` call)."""
    if value is not None:
        gauge.labels(*labels).set(float(value))
