"""What the API needs from the composition root: the ClickHouse client, the clock, settings, the health
probe and the lifespans of the components sharing the event loop (Faust, the scheduler, Stratum)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from litestar import Litestar

from api.health import HealthProbe
from api.settings import ApiSettings
from schemas.clock import Clock


@dataclass
class ApiDeps:
    clickhouse: Client
    clock: Clock
    settings: ApiSettings
    health: HealthProbe
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = ()
