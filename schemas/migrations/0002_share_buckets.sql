-- 1-minute buckets per (algorithm, miner, worker): accepted work, accepted/stale/rejected counts,
-- first and last share time (a worker's presence in a window). Query with sum()/min()/max() GROUP BY.
CREATE TABLE IF NOT EXISTS shares_1m
(
    bucket           DateTime('UTC'),
    algorithm        LowCardinality(String),
    miner            String,
    worker           String,
    sum_difficulty   SimpleAggregateFunction(sum, Float64),
    accepted         SimpleAggregateFunction(sum, UInt64),
    stale            SimpleAggregateFunction(sum, UInt64),
    rejected         SimpleAggregateFunction(sum, UInt64),
    first_ts         SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_accepted_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    hardware         SimpleAggregateFunction(anyLast, LowCardinality(String))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (algorithm, miner, worker, bucket)
TTL bucket + INTERVAL 14 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS shares_1m_mv TO shares_1m AS
SELECT
    toStartOfMinute(ts) AS bucket,
    algorithm,
    miner,
    worker,
    sumIf(difficulty, status = 'accepted') AS sum_difficulty,
    countIf(status = 'accepted') AS accepted,
    countIf(status = 'stale') AS stale,
    countIf(status NOT IN ('accepted', 'stale')) AS rejected,
    min(ts) AS first_ts,
    max(ts) AS last_ts,
    maxIf(ts, status = 'accepted') AS last_accepted_ts,
    anyLast(hardware) AS hardware
FROM shares
GROUP BY bucket, algorithm, miner, worker;

-- Hourly rollup, same shape as shares_1m, fed from the same inserts.
CREATE TABLE IF NOT EXISTS shares_1h
(
    bucket           DateTime('UTC'),
    algorithm        LowCardinality(String),
    miner            String,
    worker           String,
    sum_difficulty   SimpleAggregateFunction(sum, Float64),
    accepted         SimpleAggregateFunction(sum, UInt64),
    stale            SimpleAggregateFunction(sum, UInt64),
    rejected         SimpleAggregateFunction(sum, UInt64),
    first_ts         SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_accepted_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    hardware         SimpleAggregateFunction(anyLast, LowCardinality(String))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (algorithm, miner, worker, bucket)
TTL bucket + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- Fed from shares_1m, not from the raw rows: each INSERT aggregates the raw rows once (per minute), and the
-- coarser rollups only re-aggregate those minute rows.
CREATE MATERIALIZED VIEW IF NOT EXISTS shares_1h_mv TO shares_1h AS
SELECT
    toStartOfHour(bucket) AS bucket,
    algorithm,
    miner,
    worker,
    sum(sum_difficulty) AS sum_difficulty,
    sum(accepted) AS accepted,
    sum(stale) AS stale,
    sum(rejected) AS rejected,
    min(first_ts) AS first_ts,
    max(last_ts) AS last_ts,
    max(last_accepted_ts) AS last_accepted_ts,
    anyLast(hardware) AS hardware
FROM shares_1m
GROUP BY bucket, algorithm, miner, worker;

-- Daily rollup, same shape as shares_1m, kept forever.
CREATE TABLE IF NOT EXISTS shares_1d
(
    bucket           DateTime('UTC'),
    algorithm        LowCardinality(String),
    miner            String,
    worker           String,
    sum_difficulty   SimpleAggregateFunction(sum, Float64),
    accepted         SimpleAggregateFunction(sum, UInt64),
    stale            SimpleAggregateFunction(sum, UInt64),
    rejected         SimpleAggregateFunction(sum, UInt64),
    first_ts         SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_accepted_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    hardware         SimpleAggregateFunction(anyLast, LowCardinality(String))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (algorithm, miner, worker, bucket)
SETTINGS non_replicated_deduplication_window = 10000;

-- Fed from shares_1m, not from the raw rows: each INSERT aggregates the raw rows once (per minute), and the
-- coarser rollups only re-aggregate those minute rows.
CREATE MATERIALIZED VIEW IF NOT EXISTS shares_1d_mv TO shares_1d AS
SELECT
    toStartOfDay(bucket) AS bucket,
    algorithm,
    miner,
    worker,
    sum(sum_difficulty) AS sum_difficulty,
    sum(accepted) AS accepted,
    sum(stale) AS stale,
    sum(rejected) AS rejected,
    min(first_ts) AS first_ts,
    max(last_ts) AS last_ts,
    max(last_accepted_ts) AS last_accepted_ts,
    anyLast(hardware) AS hardware
FROM shares_1m
GROUP BY bucket, algorithm, miner, worker;

-- Rejected shares by reason, per minute: what the API and dashboards show as rejects by reason.
CREATE TABLE IF NOT EXISTS share_rejects_1m
(
    bucket    DateTime('UTC'),
    algorithm LowCardinality(String),
    miner     String,
    worker    String,
    reason    LowCardinality(String),
    shares    SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (algorithm, miner, worker, reason, bucket)
TTL bucket + INTERVAL 14 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS share_rejects_1m_mv TO share_rejects_1m AS
SELECT toStartOfMinute(ts) AS bucket, algorithm, miner, worker, status AS reason, count() AS shares
FROM shares
WHERE status != 'accepted'
GROUP BY bucket, algorithm, miner, worker, reason;
