-- SFR contribution rewards (issue 11, seed 003): contributions, calculations (B x C x M x H), factor versions,
-- market prices, distribution limits, distributions, holding snapshots, the audit log and batch runs.
-- Amounts of SFR are Int64 units of 10^-8 SFR (`schemas.sfr`); factors, scores and JPY prices Decimal(18, 4).
-- Numeric ids are max(id) + 1 under the rewards' write lock (api/services/registry.py pattern). A row whose
-- state changes is versioned: ReplacingMergeTree(updated_at), read with FINAL. Every table is written by one
-- module of api/rewards/ (or jobs/ for batch runs), named on the table.

-- One contribution record (POST /rewards/contributions, or the mining job). Written by api/rewards/contributions
-- (the mining job's records too, through api/rewards/mining.py: reference_type 'mining_period' and a
-- deterministic reference_id '<address>:<algorithm>:<period start>' so a rerun finds its row, never adds one).
CREATE TABLE IF NOT EXISTS reward_contributions
(
    contribution_id     UInt64,
    user_id             String,
    contribution_type   LowCardinality(String),   -- schemas.sfr.ContributionType
    activity_type       LowCardinality(String),   -- schemas.sfr.ActivityType
    reference_id        String,
    reference_type      String,
    metrics             String,                   -- JSON object as sent (numbers as decimal strings where exact)
    contribution_score  Decimal(18, 4),           -- C, kernels.sfr.contribution_score
    activity_date       DateTime64(3, 'UTC'),
    status              LowCardinality(String),   -- RECORDED
    source              LowCardinality(String),   -- api | mining_job | sample
    created_by          String,                   -- the caller's subject
    created_at          DateTime64(3, 'UTC'),
    updated_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (user_id, contribution_id);

-- One calculation of one contribution; its status moves CALCULATED -> APPROVED -> DISTRIBUTED or -> REJECTED
-- (schemas.sfr.TRANSITIONS). A forced recalculation of a CALCULATED row writes a new version of the same
-- calculation_id. Written by api/rewards/calculation (figures) and api/rewards/approval (status moves).
CREATE TABLE IF NOT EXISTS reward_calculations
(
    calculation_id      UInt64,
    contribution_id     UInt64,
    user_id             String,
    contribution_type   LowCardinality(String),
    base_factor         Decimal(18, 4),           -- B
    contribution_score  Decimal(18, 4),           -- C
    market_factor       Decimal(18, 4),           -- M
    holding_factor      Decimal(18, 4),           -- H
    calculated_units    Int64,                    -- floor(B x C x M x H, 10^-8 SFR)
    final_units         Int64,                    -- what is approved/distributed (= calculated_units)
    formula             String,                   -- "1.4 × 2.5 × 1.2 × 1.8 = 7.56 SFR"
    market_price_jpy    Decimal(18, 4),
    target_price_jpy    Decimal(18, 4),
    factor_version      UInt64,                   -- reward_factors.factor_version used (0: the defaults)
    batch_id            String,                   -- '' for a single calculation
    status              LowCardinality(String),   -- schemas.sfr.CalculationStatus
    calculated_at       DateTime64(3, 'UTC'),
    calculated_by       String,
    approved_at         Nullable(DateTime64(3, 'UTC')),
    approved_by         String,
    comment             String,                   -- approval comment or reason of a rejection
    distribution_id     UInt64,                   -- 0 until approved
    updated_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY calculation_id;

-- Factor versions (PUT /rewards/factors): append-only; the version in force at t is the newest
-- effective_from <= t (ties: the highest factor_version). No row: schemas.sfr defaults. Written by
-- api/rewards/factors.
CREATE TABLE IF NOT EXISTS reward_factors
(
    factor_version    UInt64,
    effective_from    DateTime64(3, 'UTC'),
    base_factors      Map(String, Decimal(18, 4)),  -- every contribution type, merged over the previous version
    target_price_jpy  Decimal(18, 4),
    reason            String,
    updated_by        String,
    created_at        DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY factor_version;

-- SFR market prices in JPY (POST /rewards/market-price, the daily batch). The current price is the newest
-- price_ts <= now. The same (price_ts, price_source) sent twice collapses. Written by api/rewards/market.
CREATE TABLE IF NOT EXISTS reward_market_prices
(
    price_id        UInt64,
    price_jpy       Decimal(18, 4),
    price_source    String,
    volume_24h      Decimal(28, 4),
    market_cap      Decimal(28, 4),
    price_ts        DateTime64(3, 'UTC'),
    recorded_by     String,
    recorded_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (price_ts, price_source);

-- Distribution limits (POST /rewards/limits): at most max_units SFR distributed for `category` ('' = every
-- category) between period_start and period_end (inclusive). active = 0 retires one (monthly reset). Written
-- by api/rewards/limits.
CREATE TABLE IF NOT EXISTS reward_limits
(
    limit_id      UInt64,
    limit_type    LowCardinality(String),   -- DAILY | WEEKLY | MONTHLY | YEARLY | TOTAL
    category      LowCardinality(String),   -- a ContributionType, or '' for all
    max_units     Int64,
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    active        UInt8,
    created_by    String,
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY limit_id;

-- One distribution per approved calculation: state APPROVED (waiting) -> DISTRIBUTED (its ledger row
-- written, entry_key 'sfr_reward:<distribution_id>') or REJECTED. Written by api/rewards/distribution.
CREATE TABLE IF NOT EXISTS reward_distributions
(
    distribution_id     UInt64,
    calculation_id      UInt64,
    user_id             String,
    contribution_type   LowCardinality(String),
    amount_units        Int64,
    state               LowCardinality(String),   -- APPROVED | DISTRIBUTED | REJECTED
    approved_by         String,
    approved_at         DateTime64(3, 'UTC'),
    approval_comment    String,
    execution_date      Nullable(DateTime64(3, 'UTC')),
    distributed_at      Nullable(DateTime64(3, 'UTC')),
    distributed_by      String,
    ledger_entry_key    String,                   -- '' until distributed
    updated_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY distribution_id;

-- Holding incentive snapshots (GET /rewards/holding-incentive/{userId}, the daily batch): the seed's breakdown
-- and details per user and calculation date; the latest one gives H. Written by api/rewards/holdings.
CREATE TABLE IF NOT EXISTS reward_holding_snapshots
(
    user_id                    String,
    calculation_date           DateTime64(3, 'UTC'),
    holding_factor             Decimal(18, 4),
    base_holding               Decimal(18, 4),
    staking_bonus              Decimal(18, 4),
    payment_usage_bonus        Decimal(18, 4),
    price_support_bonus        Decimal(18, 4),
    holding_days               UInt32,
    staking_months             UInt32,
    staking_units              Int64,            -- SFR units staked
    payment_usage_count        UInt32,
    average_holding_price_jpy  Decimal(18, 4),
    current_price_jpy          Decimal(18, 4),
    price_support_ratio        Decimal(18, 4),
    computed_at                DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (user_id, calculation_date);

-- Every reward operation: who, what, on which target, the state before and after (JSON). A row with `event`
-- set is also a webhook event (factors.updated, reward.distributed): the notification job enqueues its
-- `event_body` once per webhook URL (jobs/reward_events.py). Append-only; written only through
-- api/rewards/audit_log.py (and jobs through the same columns).
CREATE TABLE IF NOT EXISTS reward_audit
(
    audit_id     String,                      -- uuid4 hex
    at           DateTime64(3, 'UTC'),
    actor        String,                      -- the caller's subject
    actor_user_id String,
    role         LowCardinality(String),      -- user | ADMIN | SYSTEM
    action       LowCardinality(String),      -- contribution.create, calculation.calculate, factors.update, ...
    target_type  LowCardinality(String),      -- contribution | calculation | distribution | factors | ...
    target_id    String,
    before       String,                      -- JSON ('' when none)
    after        String,                      -- JSON ('' when none)
    event        LowCardinality(String),      -- '' or the webhook event name
    event_body   String,                      -- the webhook JSON ('' when no event)
    ip           String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, audit_id);

-- Batch runs: calculation batches (POST /rewards/calculate/batch) and the daily/monthly jobs. Versioned by
-- updated_at (running -> succeeded | failed). Written by api/rewards/calculation and api/rewards/batch_runs.
CREATE TABLE IF NOT EXISTS reward_batches
(
    id            UInt64,
    batch_id      String,                     -- 'batch_001', 'daily_20250826', 'monthly_202508', ...
    kind          LowCardinality(String),     -- calculation | daily | monthly | mining
    run_key       String,                     -- idempotency key of a scheduled run ('' for calculation)
    requested_by  String,
    started_at    DateTime64(3, 'UTC'),
    finished_at   Nullable(DateTime64(3, 'UTC')),
    state         LowCardinality(String),     -- running | succeeded | failed
    result        String,                     -- JSON summary
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

-- (holdings, issue 11) the SFR held (free + staked, units of 10^-8 SFR) at a holding snapshot's date.
ALTER TABLE reward_holding_snapshots ADD COLUMN IF NOT EXISTS holding_units Int64 DEFAULT 0;

-- The monthly batch's archive (api/rewards/monthly.py, its only writer): a copy of each closed month's settled
-- calculations (DISTRIBUTED or REJECTED: final, they never change again), partitioned by month so a month can
-- be exported or frozen as a unit. Nothing is deleted from reward_calculations (nor ever from the ledger); a
-- repeated copy writes identical versions, which collapse.
CREATE TABLE IF NOT EXISTS reward_calculations_archive AS reward_calculations
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(calculated_at)
ORDER BY calculation_id;
