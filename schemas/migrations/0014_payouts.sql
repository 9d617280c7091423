-- Payouts (jobs/settlement.py, POST /api/v1/payouts): one row per payout, the recipients as parallel arrays
-- (addresses[i] is paid amounts[i] base units; Int64, never a float). payout_id is also the idempotency key:
-- it is written `planned` BEFORE the send, travels with the send (the wallet transaction's comment
-- `poolstream:<payout_id>`), and a restart finds it in the wallet before sending anything again.
-- state: planned -> sent (tx_hash) | failed (error; no ledger rows, the balance is kept) ; sent -> confirmed.
-- A state change is a new row; `version` is the state's rank (planned 1 < failed 2 < sent 3 < confirmed 4), so
-- ReplacingMergeTree(version) keeps the furthest state whatever the clocks say. READ WITH FINAL.
CREATE TABLE IF NOT EXISTS payouts
(
    payout_id  String,
    coin       LowCardinality(String),
    state      LowCardinality(String),
    version    UInt8,
    addresses  Array(String),
    amounts    Array(Int64),
    total      Int64,
    tx_hash    String,
    error      String,
    origin     LowCardinality(String),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY payout_id;

-- A miner's own payout threshold per coin (PUT /api/v1/miners/{address}/threshold), in base units; the
-- settlement job pays at max(coin minimum, threshold). The newest setting wins.
CREATE TABLE IF NOT EXISTS payout_thresholds
(
    address    String,
    coin       LowCardinality(String),
    amount     Int64,
    updated_by String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (address, coin);
