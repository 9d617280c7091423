-- The money ledger: append-only, one row per movement of base units (integers; never a float).
-- kind: credit (a miner's part of a found block: pending until the block is confirmed, then mature),
--       fee (the pool's fee of a block), remainder (PPLNS: the part of an unfilled window, to the pool,
--       recorded explicitly), reversal (minus a credit, when its block is orphaned), payout (minus what was
--       sent), adjustment (an operator's signed correction, audited).
-- amount is signed: reversals and payouts are negative. Nothing is ever updated or deleted: a correction is
-- a new row. entry_key is unique and deterministic (credit:<block_hash>:<address>, fee:<block_hash>,
-- remainder:<block_hash>, reversal:<block_hash>:<address>, payout:<payout_id>:<address>, adjustment:<id>),
-- so replaying an agent or retrying a job writes identical rows that collapse: ReplacingMergeTree keyed by
-- entry_key, READ WITH FINAL. Pool-side rows (fee, remainder) carry address ''.
CREATE TABLE IF NOT EXISTS ledger
(
    entry_key  String,
    ts         DateTime64(3, 'UTC'),
    coin       LowCardinality(String),
    address    String,
    kind       LowCardinality(String),
    amount     Int64,
    block_hash String,
    payout_id  String,
    reason     String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY entry_key
SETTINGS non_replicated_deduplication_window = 10000;

-- Balances are read per address: a skip index on it keeps those reads off a full scan.
ALTER TABLE ledger ADD INDEX IF NOT EXISTS ledger_address address TYPE bloom_filter GRANULARITY 1;
