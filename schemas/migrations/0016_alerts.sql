-- Alerts (issue 10): worker offline, hashrate drop, over-temperature, fan failure, unprofitable rig; their
-- per-worker settings, mobile devices with notification preferences, and the notification outbox.

-- One row per alert, written only by the evaluator (`jobs.alerts`). An alert is opened with cleared_at NULL
-- and cleared by inserting the same row (same key and opened_at) with cleared_at set and a newer updated_at:
-- ReplacingMergeTree(updated_at) keyed by the condition (kind, miner, worker, device_id) + opened_at keeps the
-- newest version of each alert (read with FINAL). The evaluator reads the open alerts before it writes and
-- opens one only for a condition without one, so a condition has at most one open alert; a rerun or replayed
-- insert of the same version collapses on the key. An append-only open/close event log would need a join to
-- answer "what is open"; this keeps the API and the gauge one FINAL read on a small table.
CREATE TABLE IF NOT EXISTS alerts
(
    id          String,                       -- stable id: hash of the key and opened_at
    kind        LowCardinality(String),       -- schemas.alerts.AlertKind
    miner       String,
    worker      String,
    device_id   String,                       -- '' for worker-level alerts
    severity    LowCardinality(String),       -- warning | critical
    opened_at   DateTime64(3, 'UTC'),
    cleared_at  Nullable(DateTime64(3, 'UTC')),  -- NULL while open
    value       Float64,                      -- what was measured (unit per kind, see schemas.alerts)
    threshold   Float64,                      -- the bound it crossed (same unit)
    message     String,
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (kind, miner, worker, device_id, opened_at)
TTL toDateTime(opened_at) + INTERVAL 400 DAY;

-- Per registered worker (`workers.id`): mute and thresholds overriding the pool's defaults (NULL = default).
-- Written only by the API (PUT /api/v1/workers/{worker_id}/alerts); newest version wins.
CREATE TABLE IF NOT EXISTS worker_alert_settings
(
    worker_id          UInt64,
    muted              UInt8,
    offline_intervals  Nullable(Float64),
    temperature_limit  Nullable(Float64),
    hashrate_drop_pct  Nullable(Float64),
    fan_alerts         UInt8 DEFAULT 1,
    profit_alerts      UInt8 DEFAULT 1,
    updated_by         String,
    updated_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY worker_id;

-- Mobile devices registered for push (POST /api/v1/mobile/register); written only by the API. A token is one
-- device: registering it again moves it to the new registrant and address.
CREATE TABLE IF NOT EXISTS mobile_devices
(
    device_token   String,
    platform       LowCardinality(String),
    miner_address  String,
    owner          String,                   -- the API user that registered it
    active         UInt8,
    registered_at  DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY device_token;

-- What each device wants pushed (PUT /api/v1/mobile/notifications, seed 000/001 names plus the hardware
-- kinds); a device without a row gets the defaults of `notify.preferences`. Written only by the API.
CREATE TABLE IF NOT EXISTS notification_preferences
(
    device_token          String,
    worker_offline        UInt8,
    payment_sent          UInt8,
    block_found           UInt8,
    hashrate_drop         UInt8,
    threshold_percentage  Float64,
    over_temperature      UInt8,
    fan_failure           UInt8,
    unprofitable          UInt8,
    updated_at            DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY device_token;

-- The notification outbox: one row per (event, target) to deliver, written only by the dispatcher
-- (`jobs.alert_notify`): inserted `pending`, then a new version after each attempt (`delivered`, or
-- `pending` with the next attempt time, or `failed` after the last attempt). Pending rows survive a restart.
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    delivery_id      String,                  -- hash of event_key and target
    event_key        String,                  -- '<alert id>:opened', '<alert id>:cleared', 'block:<hash>:found', ...
    event            LowCardinality(String),  -- alert.opened | alert.cleared | block.found | payment.sent
    channel          LowCardinality(String),  -- webhook | push
    target           String,                  -- the URL
    body             String,                  -- the JSON posted (signed at send time)
    state            LowCardinality(String),  -- pending | delivered | failed
    attempts         UInt16,
    next_attempt_at  DateTime64(3, 'UTC'),
    last_status      Int32,                   -- HTTP status of the last attempt (0: no answer)
    last_error       String,
    created_at       DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY delivery_id
TTL toDateTime(created_at) + INTERVAL 90 DAY;

-- Every delivery attempt (the outbox keeps only the latest state); written only by the dispatcher.
CREATE TABLE IF NOT EXISTS alert_delivery_attempts
(
    delivery_id  String,
    attempt      UInt16,
    at           DateTime64(3, 'UTC'),
    status       Int32,
    error        String,
    duration_ms  UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (delivery_id, attempt, at)
TTL toDateTime(at) + INTERVAL 90 DAY;
