"""Services behind the controllers: they read ClickHouse (in a worker thread) and build response structs."""
