-- The registry of seed 004 adapted to this pool: participants (a payout address and who it belongs to), the
-- workers they register (linked to the shares of `address.worker_name`), the commands queued for a worker's
-- rig agent and the optimization batches that queue them. Written only by the API (one process on chDB).
-- Rows change rarely: one row per version, the newest wins (ReplacingMergeTree(updated_at), read with FINAL).
-- Ids are small integers (seed 004 shows "id": 1), max(id)+1 taken under the API's write lock (api/services/registry.py).
CREATE TABLE IF NOT EXISTS participants
(
    id                 UInt64,
    ton_wallet_address String,           -- seed 004's name: for this pool the miner's payout address
    telegram_user_id   Nullable(Int64),
    username           String,
    email              String,
    owner              String,           -- the API user (Principal.subject) that created it
    is_active          UInt8,
    created_at         DateTime64(3, 'UTC'),
    updated_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS workers
(
    id                UInt64,
    participant_id    UInt64,
    address           String,            -- the participant's wallet: shares of `address.worker_name` are its own
    worker_name       String,
    instance_number   UInt32,
    host              String,
    stats_port        UInt16,
    price_coefficient Float64,
    hardware_type     LowCardinality(String),  -- cpu | gpu | asic | ""
    algorithm         LowCardinality(String),  -- schemas.algorithms wire name
    currency          LowCardinality(String),
    config            String,            -- JSON object
    token_hash        String,            -- sha256 hex of the worker token, never the token
    owner             String,
    deleted           UInt8,
    is_active         UInt8,
    created_at        DateTime64(3, 'UTC'),
    updated_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS worker_commands
(
    id              UInt64,
    worker_id       UInt64,
    command         LowCardinality(String),
    parameters      String,              -- JSON object
    status          LowCardinality(String),  -- queued | delivered | acked | failed
    result          String,              -- JSON, what the rig agent reported with its ack
    optimization_id UInt64,              -- 0 when queued by hand
    requested_by    String,
    created_at      DateTime64(3, 'UTC'),
    delivered_at    Nullable(DateTime64(3, 'UTC')),
    acked_at        Nullable(DateTime64(3, 'UTC')),
    updated_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (worker_id, id);

CREATE TABLE IF NOT EXISTS optimizations
(
    id           UInt64,
    request      String,                 -- JSON: the start request as received
    worker_count UInt32,
    owner        String,
    created_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY id;
