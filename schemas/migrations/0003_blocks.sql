-- Block candidates and their fate (found -> confirmed | orphaned): one row per (hash, status), so the
-- history stays; a re-delivered event is the identical row and collapses (ReplacingMergeTree, FINAL).
-- Current state of a block: argMax(status, updated_at) GROUP BY hash.
-- reward is an integer in the coin's base unit: money never touches a float.
CREATE TABLE IF NOT EXISTS blocks
(
    hash               String,
    height             UInt64,
    ts                 DateTime64(3, 'UTC'),
    algorithm          LowCardinality(String),
    coin               LowCardinality(String),
    miner              String,
    worker             String,
    reward             UInt64,
    network_difficulty Float64,
    share_difficulty   Float64,
    status             LowCardinality(String),
    job_id             String,
    header_hex         String,
    updated_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (hash, status)
SETTINGS non_replicated_deduplication_window = 10000;
