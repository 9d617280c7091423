"""The chain the settings name, for the maturity job (built by the composition root)."""

from __future__ import annotations

from pathlib import Path

from schemas.clock import Clock
from sources.chain.rpc import NodeRpcChain
from sources.chain.simulated import SimulatedChain
from sources.chain.status import ChainSettings, ChainStatus


def chain_status(settings: ChainSettings, clock: Clock, *, node_url: str = "", node_user: str = "",
                 node_password: str = "") -> ChainStatus | None:
    """The chain `settings.source` names (None for `none`: no maturity job). `rpc` asks `settings.node_urls`
    per coin, else `node_url` (STRATUM_NODE_URL and its credentials)."""
    if settings.source == "simulated":
        return SimulatedChain(Path(settings.simulated_file), clock)
    if settings.source == "rpc":
        return NodeRpcChain(settings.node_urls, node_url, user=node_user, password=node_password)
    return None
