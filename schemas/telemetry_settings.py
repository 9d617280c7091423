"""Settings of the hardware side (issue 10): telemetry checks and rollups, the cgminer poller, electricity
prices for profitability, and alerts with their notification channels. One group, `telemetry`, in
`poolstream.settings`; each field names its variable."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TelemetrySettings:
    # validation and rollup (kernels.telemetry_checks, streams.telemetry, jobs.telemetry_rollup)
    stuck_after_s: float = 900.0  # TELEMETRY_STUCK_AFTER_S: a sensor constant this long is flagged stuck
    spike_z: float = 8.0  # TELEMETRY_SPIKE_Z: robust z-score above which a reading is flagged a spike
    rollup_interval_s: float = 30.0  # TELEMETRY_ROLLUP_INTERVAL_S
    rollup_lookback_min: int = 15  # TELEMETRY_ROLLUP_LOOKBACK_MIN: closed minutes recomputed each run
    # cgminer-API poller (sources.cgminer)
    cgminer_hosts: str = ""  # CGMINER_HOSTS: host[:port]=miner.worker, comma-separated
    cgminer_interval_s: float = 30.0  # CGMINER_INTERVAL_S
    cgminer_timeout_s: float = 3.0  # CGMINER_TIMEOUT_S
    # profitability (jobs.rig_figures)
    electricity_price_kwh: float = 0.10  # ELECTRICITY_PRICE_KWH (seed 002's ELECTRICITY_COST_KWH also read)
    electricity_currency: str = "USD"  # ELECTRICITY_CURRENCY
    site_electricity_prices: str = ""  # SITE_ELECTRICITY_PRICES: site=price, comma-separated
    # alerts and notifications (jobs.alerts, notify/)
    alerts_interval_s: float = 30.0  # ALERTS_INTERVAL_S
    offline_intervals: float = 7.0  # ALERT_OFFLINE_INTERVALS: expected share intervals without a share
    hashrate_drop_pct: float = 30.0  # ALERT_HASHRATE_DROP_PCT: below this % under the 24 h average
    webhook_urls: str = ""  # ALERT_WEBHOOK_URLS: comma-separated
    webhook_secret: str = field(default="", repr=False)  # ALERT_WEBHOOK_SECRET: HMAC-SHA256 key (a secret)
    push_gateway_url: str = ""  # PUSH_GATEWAY_URL: where mobile pushes are POSTed
