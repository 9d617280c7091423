"""Notifications of the hardware side (issue 10): signed webhook POSTs, the mobile push gateway, device
preferences and the outbox's retry rule. Pure helpers and one HTTP call; the dispatcher job
(`jobs.alert_notify`) drives them and keeps the outbox in ClickHouse."""
