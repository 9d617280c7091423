-- Confirmations of a block at the maturity job's last check (0 until it checked; on the `found` row while
-- pending, on the `confirmed` row once mature). Read with argMax(confirmations, updated_at) GROUP BY hash.
ALTER TABLE blocks ADD COLUMN IF NOT EXISTS confirmations Int64 DEFAULT 0;
