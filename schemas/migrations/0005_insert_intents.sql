-- What an INSERT into `shares` is about to write, recorded just before it (one row per batch): the source
-- topic incarnation, the offset ranges per partition (JSON [[partition, first, last], ...]), the dedup token
-- and the row count. One INSERT writes `shares` and each materialized view as separate parts, not atomic
-- together; after a crash the agent checks the last intent and completes what that INSERT left undone
-- (`sinks.repair`). A week is kept for analysts; only the last one matters.
CREATE TABLE IF NOT EXISTS insert_intents
(
    topic    LowCardinality(String),
    topic_id LowCardinality(String),
    seq      UInt64,
    token    String,
    ranges   String,
    rows     UInt64,
    at       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (topic, topic_id, seq)
TTL toDateTime(at) + INTERVAL 7 DAY;

-- Finding one batch's rows by offset without scanning the day: parts are written batch by batch.
ALTER TABLE shares ADD INDEX IF NOT EXISTS src_offset_minmax src_offset TYPE minmax GRANULARITY 1;
