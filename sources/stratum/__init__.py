"""The Stratum V1 gateway: miners connect over TCP (one port per algorithm), every submit is verified by
hashing in batches and published as a share event; block candidates go to `blocks`, jobs to `jobs`.

Entry points: `serve()` (inside `poolstream run`) and `main()` (`poolstream stratum`). Jobs come from the
template generator, or from a node's `getblocktemplate` when `StratumSettings.node_url` is set.
"""

from schemas.config import SettingsError
from sources.stratum.gateway import StratumGateway, serve
from sources.stratum.gbt_source import GetBlockTemplateJobSource, NodeError
from sources.stratum.jobs import BlockTemplate, JobSource
from sources.stratum.runner import main
from sources.stratum.settings import GetBlockTemplateSettings, PortSettings, StratumSettings
from sources.stratum.template_source import TemplateJobSource

__all__ = [
    "BlockTemplate",
    "GetBlockTemplateJobSource",
    "GetBlockTemplateSettings",
    "JobSource",
    "NodeError",
    "PortSettings",
    "SettingsError",
    "StratumGateway",
    "StratumSettings",
    "TemplateJobSource",
    "main",
    "serve",
]
