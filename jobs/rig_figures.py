"""Rig figures for the scheduled jobs (gauges, the "unprofitable rig" alert): efficiency, revenue, power
cost and profit per rig over a window. The one implementation is the shared read `sinks.rig_figures` (the
API calls it too); this module is the jobs' name for it.

    figures = rig_figures(client, now_ms, 86_400, RigSettings.of(settings.telemetry, settings.coins, subsidy))
    unprofitable = [f for f in figures if f.profit is not None and f.profit < 0]
"""

from __future__ import annotations

from sinks.rig_figures import RigFigures, RigSettings, parse_site_prices, rig_figures

__all__ = ["RigFigures", "RigSettings", "parse_site_prices", "rig_figures"]
