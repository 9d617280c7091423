"""What a simulation produced: the true hashrates and exact expected counts the pipeline is checked against."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

_UNITS = ("H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s")


def human_hashrate(hashes_per_s: float) -> str:
    """`1.23 TH/s` style: three significant digits, H/s up to EH/s."""
    if not math.isfinite(hashes_per_s) or hashes_per_s <= 0:
        return f"{hashes_per_s:g} H/s"
    exponent = min(int(math.log10(hashes_per_s) // 3), len(_UNITS) - 1)
    exponent = max(exponent, 0)
    value = hashes_per_s / 1000**exponent
    return f"{value:.3g} {_UNITS[exponent]}"


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


@dataclass
class SimulationReport:
    """The oracle of one run. Hashrates in H/s; `*_ms` are UTC epoch milliseconds.

    The shares the pipeline must accept are exactly `accepted_valid`; it must reject `invalid[kind]` with
    reason `kind`, `duplicates` as duplicate, and `stale` as stale; `shares_total` is their sum.
    `accepted_hashrate` is Σd·F/duration over the accepted valid shares — what an exact pipeline reports —
    and lies within a few 1/√N of `true_hashrate`.
    """

    seed: int
    encoding: str
    miners: int
    workers: int
    duration_s: float
    start_ms: int
    end_ms: int
    true_hashrate: dict[str, float]
    accepted_hashrate: dict[str, float]
    accepted_difficulty: dict[str, float]
    miner_algorithm: dict[str, str]
    miner_true_hashrate: dict[str, float]
    miner_accepted_shares: dict[str, int]
    miner_accepted_difficulty: dict[str, float]
    workers_by_hardware: dict[str, int]
    shares_total: int
    accepted_valid: int
    invalid: dict[str, int]
    duplicates: int
    stale: int
    messages: int = 0
    seconds: float = 0.0
    shares_per_s: float = 0.0
    #: blocks found: hash, coin, height, miner, reward (base units), ts_ms, orphan (the simulated chain's fate)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    #: hardware readings produced to `telemetry` (0: telemetry off)
    telemetry_readings: int = 0
    #: the rigs made to fail: miner, worker, device_class, kind, onset_ms, limit_ms (`sources.simulate.rigs`)
    failing_rigs: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid.values())

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["start"] = _iso(self.start_ms)
        out["end"] = _iso(self.end_ms)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text (NaN-free: every number in a report is finite)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def format_report(report: SimulationReport) -> str:
    """A few human lines: the true hashrate per algorithm (human units and exact H/s) and the counts."""
    lines = [
        f"simulated {report.miners:,} miner(s) x {report.workers:,} worker(s) over {report.duration_s:g} s "
        f"({_iso(report.start_ms)} .. {_iso(report.end_ms)}), seed {report.seed}",
    ]
    for algorithm, true in report.true_hashrate.items():
        accepted = report.accepted_hashrate.get(algorithm, 0.0)
        lines.append(
            f"  {algorithm}: true hashrate {human_hashrate(true)} ({true:.0f} H/s); "
            f"from accepted shares {human_hashrate(accepted)} ({accepted:.0f} H/s)"
        )
    invalid = ", ".join(f"{kind} {count:,}" for kind, count in report.invalid.items()) or "none"
    lines.append(
        f"  shares {report.shares_total:,}: accepted {report.accepted_valid:,}, stale {report.stale:,}, "
        f"duplicate {report.duplicates:,}, invalid {report.invalid_total:,} ({invalid})"
    )
    hardware = ", ".join(f"{name} {count:,}" for name, count in report.workers_by_hardware.items())
    lines.append(f"  workers by hardware: {hardware}")
    lines.append(
        f"  produced {report.messages:,} message(s) ({report.encoding}) in {report.seconds:.2f} s, "
        f"{report.shares_per_s:,.0f} shares/s"
    )
    if report.telemetry_readings:
        lines.append(f"  telemetry: {report.telemetry_readings:,} hardware reading(s)")
    for rig in report.failing_rigs:
        lines.append(f"  failing rig: {rig['miner']}.{rig['worker']} ({rig['device_class']}) {rig['kind']} "
                     f"from {_iso(rig['onset_ms'])}")
    if report.blocks:
        orphans = sum(1 for b in report.blocks if b["orphan"])
        lines.append(f"  blocks found {len(report.blocks):,} ({orphans:,} to be orphaned by the simulated chain)")
        for b in report.blocks[:10]:
            lines.append(f"    {b['coin']} {b['height']} {b['hash'][:16]}… by {b['miner']} reward {b['reward']:,}"
                         + (" (orphan)" if b["orphan"] else ""))
        if len(report.blocks) > 10:
            lines.append(f"    … and {len(report.blocks) - 10:,} more (see --report)")
    return "\n".join(lines)
