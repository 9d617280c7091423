-- API accounts: users, their API keys (stored hashed) and the audit log of every write an operator makes.
-- Users and keys change rarely: one row per version, the newest wins (ReplacingMergeTree, read with FINAL).
CREATE TABLE IF NOT EXISTS users
(
    username      String,
    user_id       String,
    password_hash String,                  -- scrypt$N$r$p$salt_hex$hash_hex
    role          LowCardinality(String),  -- read | write | admin | system
    tier          LowCardinality(String),  -- authenticated | premium | enterprise
    disabled      UInt8,
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY username;

CREATE TABLE IF NOT EXISTS api_keys
(
    key_hash    String,                         -- sha256 hex of the whole key; the key itself is never stored
    key_id      String,                         -- public id (the key's prefix), for listing and revoking
    username    String,
    permissions Array(LowCardinality(String)),
    tier        LowCardinality(String),
    expires_at  DateTime64(3, 'UTC'),
    revoked     UInt8,
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_hash;

-- Append-only: who changed what (config, users, keys, workers, backups, queries).
CREATE TABLE IF NOT EXISTS audit_log
(
    ts      DateTime64(3, 'UTC'),
    actor   String,
    action  LowCardinality(String),
    target  String,
    details String,  -- JSON
    ip      String
)
ENGINE = MergeTree
ORDER BY ts;
