"""Options of one simulation run; each field maps 1:1 to a `poolstream simulate` flag."""

from __future__ import annotations

import math
from dataclasses import dataclass

from schemas.algorithms import Algorithm

ENCODINGS = ("json", "arrow")

#: Kinds of invalid share the simulator can inject, named after the `schemas.reasons.Reason` the pipeline
#: must reject them with (so expected and observed counts compare by name).
INVALID_KINDS: tuple[str, ...] = ("bad_difficulty", "bad_worker", "bad_address", "unknown_algorithm")


@dataclass(frozen=True)
class SimulateOptions:
    """What to simulate. Raises `ValueError` naming the flag when a value is out of range.

    `workers` is per miner. Fractions are of all produced shares: with `invalid_fraction=0.01` one share in
    a hundred is invalid; the accepted valid shares themselves are an unthinned Poisson process at the
    fleet's true hashrate, and invalid, duplicate and stale shares come on top of them.
    """

    miners: int
    workers: int = 1
    duration_s: float = 600.0
    encoding: str = "arrow"
    algorithms: tuple[str, ...] = ("sha256d",)
    seed: int | None = None
    invalid_fraction: float = 0.0
    duplicate_fraction: float = 0.0
    stale_fraction: float = 0.0
    shares_per_message: int = 5000
    realtime: bool = False
    target_share_interval_s: float = 10.0
    invalid_kinds: tuple[str, ...] = INVALID_KINDS
    address_hrp: str = "bc"
    #: Realtime only: how often (seconds of simulated time) a slice of shares is produced.
    realtime_tick_s: float = 1.0
    #: Realtime only: a slice's Arrow shares go out as one message per partition group (miners grouped by the
    #: partition their address hashes to, like the Stratum gateway), not one message per miner.
    partitions: int = 4
    #: Blocks: the network difficulty D (share-difficulty units) of every algorithm; a valid share is a block
    #: with probability d/D. 0: each algorithm's realistic D (`fleet.PROFILES`: blocks practically never).
    network_difficulty: float = 0.0
    #: Fraction of the found blocks the simulated chain orphans.
    orphan_rate: float = 0.0
    #: Seconds per block of the simulated chain (how fast found blocks gain confirmations).
    chain_block_time_s: float = 1.0
    #: Hardware telemetry of every worker to the `telemetry` topic (`sources.simulate.telemetry`).
    telemetry: bool = False
    #: Workers that fail during the run (`sources.simulate.rigs`: hot GPU, fan failure, offline, unprofitable).
    failing_rigs: int = 0

    def __post_init__(self) -> None:
        def bad(flag: str, why: str) -> ValueError:
            return ValueError(f"--{flag}: {why}")

        if self.miners < 1:
            raise bad("miners", f"must be >= 1, got {self.miners}")
        if self.miners >= 1 << 20:
            raise bad("miners", f"must be < {1 << 20}, got {self.miners}")
        if self.workers < 1:
            raise bad("workers", f"must be >= 1, got {self.workers}")
        if not (math.isfinite(self.duration_s) and 0 < self.duration_s < 2**40 / 1000):
            raise bad("duration", f"must be a positive number of seconds, got {self.duration_s}")
        if self.encoding not in ENCODINGS:
            raise bad("encoding", f"must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if not self.algorithms:
            raise bad("algorithm", "at least one algorithm is needed")
        for name in self.algorithms:
            try:
                Algorithm.parse(name)
            except ValueError as exc:
                raise bad("algorithm", str(exc)) from None
        if len({Algorithm.parse(a) for a in self.algorithms}) != len(self.algorithms):
            raise bad("algorithm", f"repeated algorithm in {self.algorithms}")
        for flag, value in (
            ("invalid-fraction", self.invalid_fraction),
            ("duplicate-fraction", self.duplicate_fraction),
            ("stale-fraction", self.stale_fraction),
        ):
            if not (0.0 <= value < 1.0):
                raise bad(flag, f"must be in [0, 1), got {value}")
        if self.invalid_fraction + self.duplicate_fraction + self.stale_fraction > 0.9:
            raise bad("invalid-fraction", "invalid + duplicate + stale fractions must not exceed 0.9")
        if self.invalid_fraction > 0 and not self.invalid_kinds:
            raise bad("invalid-fraction", "no invalid kinds to inject")
        for kind in self.invalid_kinds:
            if kind not in INVALID_KINDS:
                raise bad("invalid-kind", f"unknown kind {kind!r}; known: {', '.join(INVALID_KINDS)}")
        if self.shares_per_message < 1:
            raise bad("shares-per-message", f"must be >= 1, got {self.shares_per_message}")
        if not (math.isfinite(self.target_share_interval_s) and self.target_share_interval_s > 0):
            raise bad("target-share-interval", f"must be > 0, got {self.target_share_interval_s}")
        if not (math.isfinite(self.realtime_tick_s) and self.realtime_tick_s > 0):
            raise bad("realtime-tick", f"must be > 0, got {self.realtime_tick_s}")
        if not (math.isfinite(self.network_difficulty) and self.network_difficulty >= 0):
            raise bad("network-difficulty", f"must be a positive number (0: realistic), got {self.network_difficulty}")
        if not (0.0 <= self.orphan_rate <= 1.0):
            raise bad("orphan-rate", f"must be in [0, 1], got {self.orphan_rate}")
        if not (math.isfinite(self.chain_block_time_s) and self.chain_block_time_s >= 0.001):
            raise bad("chain-block-time", f"must be >= 0.001 s, got {self.chain_block_time_s}")
        if not 0 <= self.failing_rigs < 1 << 20:
            raise bad("failing-rigs", f"must be >= 0, got {self.failing_rigs}")
        if not self.address_hrp.isalnum() or self.address_hrp != self.address_hrp.lower():
            raise bad("address-hrp", f"must be lowercase alphanumeric, got {self.address_hrp!r}")

    @property
    def algorithm_codes(self) -> tuple[Algorithm, ...]:
        return tuple(Algorithm.parse(a) for a in self.algorithms)
