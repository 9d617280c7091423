"""The Litestar application factory: `create_app(ApiDeps(...))` is all the runtime calls.

The runtime owns the process: it passes the ClickHouse client, the clock, the health probe and the
lifespans of the components sharing the event loop (Faust, the scheduler), which start and stop with the app.
"""

from __future__ import annotations

from litestar import Litestar

from api.deps import ApiDeps
from api.plugin import ApiPlugin

__all__ = ["ApiDeps", "create_app"]


def create_app(deps: ApiDeps) -> Litestar:
    return Litestar(plugins=[ApiPlugin(deps)], lifespan=list(deps.lifespan), debug=False)
