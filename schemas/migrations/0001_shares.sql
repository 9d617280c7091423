-- Raw share events: every share the pipeline saw, accepted or rejected (status = 'accepted' or a reason).
-- Kept for reward windows (PPLNS walks back over accepted shares) and for analysts; TTL set by
-- SHARES_TTL_DAYS (the migration runner re-applies it at start). src_* say which Kafka message a row came
-- from (src_topic_id is the topic's Kafka id: a re-created topic, or a fresh embedded broker, starts its offsets
-- again and must not be mistaken for a replay). They make replays idempotent (see ingest_progress) and let
-- analysts trace any row to its offset.
CREATE TABLE IF NOT EXISTS shares
(
    ts                 DateTime64(3, 'UTC'),
    algorithm          LowCardinality(String),
    miner              String,
    worker             String,
    difficulty         Float64,
    network_difficulty Float64,
    status             LowCardinality(String),
    job_id             String,
    extranonce2        String,
    ntime              UInt32,
    nonce              UInt32,
    ip                 String,
    hardware           LowCardinality(String),
    share_key          UInt64,
    src_topic          LowCardinality(String),
    src_topic_id       LowCardinality(String),
    src_partition      UInt16,
    src_offset         UInt64,
    ingested_at        DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (algorithm, miner, worker, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- The highest Kafka offset durably written per source partition. Fed by the same INSERT as `shares`
-- (materialized view), so "written" and "progress recorded" cannot disagree. Never expires.
CREATE TABLE IF NOT EXISTS ingest_progress
(
    topic      LowCardinality(String),
    topic_id   LowCardinality(String),
    partition  UInt16,
    max_offset SimpleAggregateFunction(max, UInt64),
    rows       SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (topic, topic_id, partition)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_progress_shares_mv TO ingest_progress AS
SELECT src_topic AS topic, src_topic_id AS topic_id, src_partition AS partition, max(src_offset) AS max_offset,
       count() AS rows
FROM shares
GROUP BY topic, topic_id, partition;
