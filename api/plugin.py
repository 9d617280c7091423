"""The one wiring plugin: routes, dependencies, the error mapper, metrics middleware and OpenAPI."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from api.controllers.admin import AdminController
from api.controllers.algorithms import AlgorithmsController
from api.controllers.miners import MinersController
from api.controllers.stats import StatsController
from api.deps import ApiDeps
from api.envelope import Meta
from api.errors import handle_exception
from api.health import HealthProbe
from api.metrics import MetricsMiddleware, metrics
from api.openapi import mark_security, openapi_config
from api.paging import provide_paging
from api.security import Principal, principal_of
from api.services.db import Db
from api.services.miners import MinerService
from api.services.pool import PoolService

BASE_PATH = "/api/v1"


class ApiPlugin(InitPluginProtocol):
    def __init__(self, deps: ApiDeps) -> None:
        self._deps = deps

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        deps = self._deps
        db = Db(deps.clickhouse)
        pool_service = PoolService(db, deps.clock)
        miner_service = MinerService(db, deps.clock)

        def meta() -> Meta:
            return Meta(timestamp=deps.clock.now(), version=deps.settings.version)

        def probe() -> HealthProbe:
            return deps.health

        def caller(request: Request[Any, Any, Any]) -> Principal:
            return principal_of(request)

        def pools() -> PoolService:
            return pool_service

        def miners() -> MinerService:
            return miner_service

        app_config.route_handlers.extend(
            [
                Router(
                    BASE_PATH,
                    route_handlers=[StatsController, AlgorithmsController, MinersController, AdminController],
                ),
                metrics,
            ]
        )
        app_config.dependencies.update(
            {
                "meta": Provide(meta, sync_to_thread=False),
                "caller": Provide(caller, sync_to_thread=False),
                "paging": Provide(provide_paging, sync_to_thread=False),
                "health_probe": Provide(probe, sync_to_thread=False),
                "pool_service": Provide(pools, sync_to_thread=False),
                "miner_service": Provide(miners, sync_to_thread=False),
            }
        )
        app_config.exception_handlers[Exception] = handle_exception
        app_config.middleware.append(MetricsMiddleware())
        app_config.openapi_config = openapi_config(deps.settings.version)
        app_config.on_startup.append(mark_security)
        return app_config
