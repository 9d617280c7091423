-- Federation (issue 8 point 7): every Stratum gateway feeding the pool is a peer. Share events v3 carry the
-- gateway's id and region (STRATUM_GATEWAY_ID, STRATUM_REGION); rows stored before this column, and shares of
-- producers that do not say (external servers, the simulator), have ''.
ALTER TABLE shares ADD COLUMN IF NOT EXISTS gateway LowCardinality(String) DEFAULT '' AFTER coin;
ALTER TABLE shares ADD COLUMN IF NOT EXISTS region LowCardinality(String) DEFAULT '' AFTER gateway;

-- Per minute, per gateway and algorithm: accepted/stale/rejected counts and accepted work (Σ difficulty),
-- first/last share. What /federation/status and /federation/peers read (a peer's hashrate = Σd·F/T, its
-- reputation = accepted / all). Fed from the same INSERTs as shares_1m (deduplicated with them).
CREATE TABLE IF NOT EXISTS gateway_shares_1m
(
    bucket         DateTime('UTC'),
    gateway        LowCardinality(String),
    algorithm      LowCardinality(String),
    region         SimpleAggregateFunction(anyLast, LowCardinality(String)),
    sum_difficulty SimpleAggregateFunction(sum, Float64),
    accepted       SimpleAggregateFunction(sum, UInt64),
    stale          SimpleAggregateFunction(sum, UInt64),
    rejected       SimpleAggregateFunction(sum, UInt64),
    first_ts       SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts        SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (bucket, gateway, algorithm)
TTL bucket + INTERVAL 14 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS gateway_shares_1m_mv TO gateway_shares_1m AS
SELECT
    toStartOfMinute(ts) AS bucket,
    gateway,
    algorithm,
    anyLast(region) AS region,
    sumIf(difficulty, status = 'accepted') AS sum_difficulty,
    countIf(status = 'accepted') AS accepted,
    countIf(status = 'stale') AS stale,
    countIf(status NOT IN ('accepted', 'stale')) AS rejected,
    min(ts) AS first_ts,
    max(ts) AS last_ts
FROM shares
GROUP BY bucket, gateway, algorithm;
