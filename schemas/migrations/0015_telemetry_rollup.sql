-- Telemetry validation flags and 1-minute device buckets (issue 10).
--
-- `flags` (bitmask, `schemas.telemetry.TelemetryFlag`): a plausible reading that a check found suspicious
-- (1 stuck sensor, 2 spike, 4 counter reset) is stored with its flag instead of being rejected; 0 = clean.
ALTER TABLE telemetry ADD COLUMN IF NOT EXISTS flags UInt16 DEFAULT 0;

-- One row per device per closed UTC minute, computed by the rollup job (`jobs.telemetry_rollup`) from the raw
-- readings with replays collapsed (one reading per device and ts), so the figures are exact whatever the
-- agent replayed. The job recomputes the last minutes on every run (late readings); a recomputed minute
-- replaces the older row (ReplacingMergeTree on `computed_at`): read with FINAL, or argMax(..., computed_at).
CREATE TABLE IF NOT EXISTS telemetry_1m
(
    minute            DateTime('UTC'),
    miner             String,
    worker            String,
    device_class      LowCardinality(String),
    device_id         String,
    model             LowCardinality(String),
    readings          UInt32,                -- readings in the minute
    flagged           UInt32,                -- of which stored with a flag
    temperature_avg   Nullable(Float64),     -- °C
    temperature_max   Nullable(Float64),
    fan_rpm_avg       Nullable(Float64),
    fan_pct_avg       Nullable(Float64),
    power_avg_w       Nullable(Float64),     -- W
    hashrate_avg      Nullable(Float64),     -- H/s, as the device reports it
    utilization_avg   Nullable(Float64),     -- %
    memory_used_avg   Nullable(Float64),     -- MB
    voltage_avg       Nullable(Float64),
    hardware_errors   Nullable(Int64),       -- errors counted in the minute (counter increase; a reset counts from 0)
    computed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (miner, worker, device_class, device_id, minute)
TTL minute + INTERVAL 400 DAY;
