-- Hardware telemetry (topic `telemetry`): one row per valid reading, written by the telemetry agent
-- (invalid readings go to `telemetry.rejected`). Missing readings are NULL. Units: H/s, °C, rpm, %, W, V, MHz,
-- MB, seconds. src_* say which Kafka message a row came from. A retried INSERT is a no-op (dedup token); a
-- replay after a crash collapses on the reading's key (ReplacingMergeTree: read with FINAL, or argMax).
CREATE TABLE IF NOT EXISTS telemetry
(
    ts               DateTime64(3, 'UTC'),
    miner            String,
    worker           String,
    device_class     LowCardinality(String),
    device_id        String,
    model            LowCardinality(String),
    hashrate         Nullable(Float64),
    temperature_c    Nullable(Float64),
    fan_rpm          Nullable(Float64),
    fan_pct          Nullable(Float64),
    power_w          Nullable(Float64),
    voltage          Nullable(Float64),
    core_clock_mhz   Nullable(Float64),
    memory_clock_mhz Nullable(Float64),
    utilization_pct  Nullable(Float64),
    memory_used_mb   Nullable(Float64),
    hardware_errors  Nullable(Int64),
    uptime_s         Nullable(Int64),
    src_topic        LowCardinality(String),
    src_partition    UInt16,
    src_offset       UInt64,
    ingested_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (miner, worker, device_class, device_id, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;
