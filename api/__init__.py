"""The HTTP API (Litestar): pool, algorithm, miner and admin resources under /api/v1, /metrics, /schema.

The runtime calls `create_app(ApiDeps(...))`; see `api.app`.
"""

from api.app import ApiDeps, create_app
from api.settings import ApiSettings

__all__ = ["ApiDeps", "ApiSettings", "create_app"]
