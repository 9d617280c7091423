"""The chain-status interface of the maturity job, and its settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schemas.config import SettingsError

CHAIN_SOURCES = ("simulated", "rpc", "none")


class ChainStatus(Protocol):
    """Answers, for a block the pool found, how deep it is on the coin's main chain."""

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None:
        """Confirmations (1 = the tip) of the block `block_hash` at `height`, 0 when the chain has not reached
        it yet, or None when another block holds that height (not on the main chain: orphaned). Raises on a
        failure to ask (the job then leaves the block as it is and asks again next time)."""
        ...


class ChainUnavailable(RuntimeError):
    """The chain could not be asked (node unreachable, no chain file): nothing is decided this round."""


@dataclass(frozen=True)
class ChainSettings:
    """`source`: where the maturity job asks (simulated chain file, a node's JSON-RPC, or nowhere: no job)."""

    source: str = "simulated"
    simulated_file: str = "./data/chain/simulated.json"
    #: per-coin node URLs, e.g. {"BTC": "http://user:pass@127.0.0.1:8332"}; empty: STRATUM_NODE_URL for all
    node_urls: dict[str, str] = field(default_factory=dict)
    maturity_interval_s: float = 30.0
    credits_interval_s: float = 30.0  # the credits job (blocks) and the pps job (PPS / FPPS shares)

    def __post_init__(self) -> None:
        if self.source not in CHAIN_SOURCES:
            raise SettingsError(f"CHAIN_SOURCE must be one of {', '.join(CHAIN_SOURCES)}, got {self.source!r}")
        if not self.maturity_interval_s > 0:
            raise SettingsError("MATURITY_INTERVAL_S must be a positive number")
        if not self.credits_interval_s > 0:
            raise SettingsError("CREDITS_INTERVAL_S must be a positive number")
