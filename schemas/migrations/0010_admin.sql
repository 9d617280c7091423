-- Live configuration changed through PUT /api/v1/admin/config (api/services/live_config.py): one row per
-- changed key, append-only. At start the newest value of every (section, key) is applied again, so a change
-- survives restarts; the rows are also the history (actor, old and new value, whether it applied live).
CREATE TABLE IF NOT EXISTS config_changes
(
    ts        DateTime64(3, 'UTC'),
    actor     String,
    section   LowCardinality(String),
    key       LowCardinality(String),
    value     String,  -- JSON
    old_value String,  -- JSON
    applied   UInt8    -- 1 when applied to the running process (0: stored only, e.g. mining until payouts exist)
)
ENGINE = MergeTree
ORDER BY (section, key, ts);
