-- The coin a share was mined for (BTC, LTC, DOGE, ...): the address rule of `schemas.identity` tells it
-- (a scrypt port serves both Litecoin and Dogecoin miners). Empty for rows stored before this column.
ALTER TABLE shares ADD COLUMN IF NOT EXISTS coin LowCardinality(String) DEFAULT '' AFTER hardware;
