"""ClickHouse access: the client from a DSN, the migration runner, and one batched idempotent writer per table."""
