"""The cgminer-API poller: ASIC rigs' hardware readings over TCP (port 4028) into the `telemetry` topic.

Modules: `protocol` (requests and both answer formats: JSON with cgminer's quirks, and the legacy pipe
format), `readings` (answers -> `TelemetryReading` per device), `hosts` (the CGMINER_HOSTS list), `poller`
(the TCP client and the scheduled job that polls every host and publishes what it read).
"""
