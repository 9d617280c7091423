-- Per-minute PPS work and coin in shares_1m (issue 10's rig figures): revenue estimates and per-rig figures
-- over a day read the minute buckets instead of scanning the raw shares of the whole pool.
-- pps_work = Σ min(d/D, 1) of the minute's accepted shares (a PPS share's value is (B − fee) · d/D, capped at
-- one block); coin = the coin the shares were mined for. Rows stored before this migration have 0 and ''.
-- The view is re-created with the new columns (a view's query cannot gain columns in place); migrations run
-- before the agents start, so no INSERT passes between the DROP and the CREATE.
ALTER TABLE shares_1m ADD COLUMN IF NOT EXISTS coin SimpleAggregateFunction(anyLast, LowCardinality(String)) DEFAULT '';
ALTER TABLE shares_1m ADD COLUMN IF NOT EXISTS pps_work SimpleAggregateFunction(sum, Float64) DEFAULT 0;

DROP VIEW IF EXISTS shares_1m_mv;

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
    anyLast(hardware) AS hardware,
    anyLast(coin) AS coin,
    sumIf(least(difficulty / network_difficulty, 1.0), status = 'accepted' AND network_difficulty > 0) AS pps_work
FROM shares
GROUP BY bucket, algorithm, miner, worker;
