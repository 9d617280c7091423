"""The fleet simulator: a load generator that mines nothing but submits realistic shares.

`poolstream simulate` builds a fleet of miners and workers (CPU/GPU/ASIC hashrates, vardiff difficulties),
draws their shares as Poisson processes, injects a chosen fraction of invalid, duplicate and stale shares,
and produces them to the `shares` topic (JSON one per message, or Arrow batches). Its `SimulationReport`
is the oracle the pipeline is checked against: true hashrates and exact expected counts.

Modules: `options` (the flags), `address` (miner addresses, worker names), `fleet` (who mines what),
`generate` (shares as columns and messages), `columns` (fast Arrow string columns), `report` (what was
simulated), `run` (produce to Kafka), `rigs` (failing rigs and their hashrate over time), `telemetry`
(hardware readings consistent with the shares, to the `telemetry` topic).
"""
