"""Where data enters poolstream: the Stratum gateway, telemetry collectors and the fleet simulator."""
