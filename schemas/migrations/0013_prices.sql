-- Fiat price series per coin and currency (POST /api/v1/prices, `poolstream prices import`), read by the tax
-- report: the price at time t is the newest row at or before t, with its source. Prices are exact decimals
-- (Decimal(38, 18): 20 integer and 18 fractional digits), never floats. One row per (coin, fiat, ts):
-- importing the same point again replaces it (ReplacingMergeTree by created_at, read FINAL), so a re-import
-- of a corrected file changes nothing else.
CREATE TABLE IF NOT EXISTS prices
(
    coin       LowCardinality(String),
    fiat       LowCardinality(String),
    ts         DateTime64(3, 'UTC'),
    price      Decimal(38, 18),
    source     String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (coin, fiat, ts);
