"""Which job source serves which port, from settings: the template generator by default; with `node_url`
set, the node's `getblocktemplate` for the port of `node_algorithm` (the generator keeps any other port)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from schemas.algorithms import Algorithm
from schemas.clock import Clock
from sources.stratum.gbt_source import GetBlockTemplateJobSource, redact_url
from sources.stratum.jobs import BlockTemplate, JobSource
from sources.stratum.settings import StratumSettings
from sources.stratum.template_source import TemplateJobSource

log = logging.getLogger(__name__)


class PerAlgorithmJobSource:
    """One job source per algorithm behind the `JobSource` contract."""

    def __init__(self, sources: Mapping[Algorithm, JobSource]) -> None:
        self._sources = dict(sources)

    async def template(self, algorithm: Algorithm) -> BlockTemplate:
        return await self._sources[algorithm].template(algorithm)

    async def submit_block(self, template: BlockTemplate, block_hex: str, block_hash: bytes) -> bool:
        return await self._sources[template.algorithm].submit_block(template, block_hex, block_hash)

    async def close(self) -> None:
        closed: list[JobSource] = []
        for source in self._sources.values():
            if not any(source is c for c in closed):
                closed.append(source)
                await source.close()


def job_source_for(settings: StratumSettings, clock: Clock) -> JobSource:
    """The job source `settings` ask for (see the module docstring)."""
    node = settings.node
    generator = TemplateJobSource(settings, clock)
    if node is None:
        return generator
    gbt = GetBlockTemplateJobSource({settings.node_algorithm: node})
    others = [p.algorithm for p in settings.ports if p.algorithm is not settings.node_algorithm]
    log.info("stratum %s: jobs from the node at %s", settings.node_algorithm.wire, redact_url(node.url))
    if not others:
        return gbt
    log.info("stratum %s: jobs from the template generator (no node)", ", ".join(a.wire for a in others))
    return PerAlgorithmJobSource({a: generator for a in others} | {settings.node_algorithm: gbt})
