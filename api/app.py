"""The Litestar application factory: `create_app(ApiDeps(...))` is all the runtime calls.

The runtime owns the process: it passes the ClickHouse client, the clock, the health probe and the
lifespans of the components sharing the event loop (Faust, the scheduler), which start and stop with the app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from litestar import Litestar

from api.health import HealthProbe
from api.plugin import ApiPlugin
from api.settings import ApiSettings
from schemas.clock import Clock


@dataclass
class ApiDeps:
    clickhouse: Client
    clock: Clock
    settings: ApiSettings
    health: HealthProbe
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = ()


def create_app(deps: ApiDeps) -> Litestar:
    return Litestar(plugins=[ApiPlugin(deps)], lifespan=list(deps.lifespan), debug=False)
