"""The one wiring plugin: routes, dependencies, the error mapper, metrics middleware and OpenAPI."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from api.admin_wiring import AdminServices
from api.auth.wiring import build_security
from api.controllers.admin import AdminController
from api.controllers.alerts import AlertsController, WorkerAlertsController
from api.controllers.algorithms import AlgorithmsController
from api.controllers.auth import AuthController
from api.controllers.blocks import BlocksController
from api.controllers.control import ControlController
from api.controllers.earnings import EarningsController
from api.controllers.federation import FederationController
from api.controllers.hashrate_series import HashrateSeriesController
from api.controllers.ledger import LedgerController
from api.controllers.miner_list import MinerListController
from api.controllers.miners import MinersController
from api.controllers.mobile import MobileController
from api.controllers.monitoring import HardwareController
from api.controllers.optimization import OptimizationController
from api.controllers.participants import ParticipantsController
from api.controllers.payouts import PayoutsController
from api.controllers.payouts_export import PayoutsExportController
from api.controllers.prices import PricesController
from api.controllers.registry import RegistryServices
from api.controllers.security import SecurityController
from api.controllers.stats import StatsController
from api.controllers.system_metrics import SystemMetricsController
from api.controllers.telemetry import TelemetryController
from api.controllers.users import UsersController
from api.controllers.worker_hardware import WorkerHardwareController
from api.controllers.workers import WorkersController
from api.deps import ApiDeps
from api.envelope import API_VERSION, Meta
from api.errors import handle_exception
from api.health import HealthProbe
from api.metrics import MetricsMiddleware, metrics
from api.openapi import mark_security, openapi_config
from api.paging import provide_paging
from api.rewards import RewardsContext, build_router
from api.security import Principal, principal_of
from api.services.alerts import AlertService
from api.services.balances import BalanceService
from api.services.blocks import BlockService
from api.services.db import Db
from api.services.earnings import EarningsService
from api.services.federation import FederationService
from api.services.hashrate_series import HashrateSeriesService
from api.services.miners import MinerService
from api.services.mobile import MobileService
from api.services.payouts import PayoutService
from api.services.pool import PoolService
from api.services.prices import PriceService
from api.services.rig_figures import WorkerHardwareService
from api.services.tax_report import TaxReportService
from api.services.workers import stratum_endpoints
from api.typed_paths import learn as learn_typed_paths
from api.web import web_routes
from api.ws.wiring import build_live
from schemas.coins import CoinSettings
from sinks.rig_figures import RigSettings

BASE_PATH = "/api/v1"


class ApiPlugin(InitPluginProtocol):
    def __init__(self, deps: ApiDeps) -> None:
        self._deps = deps

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        deps = self._deps
        db = Db(deps.clickhouse)
        # The pool snapshot (refreshed in the background, started below as a lifespan) serves /stats,
        # /algorithms, /monitoring/hardware and active miners; `pool_service.snapshot` feeds the WebSocket too.
        interval = deps.settings.snapshot_interval_s
        federation_service = FederationService(db, deps.clock, deps.settings.node_id)
        pool_service = PoolService(db, deps.clock, deps.settings.stratum_ports,
                                   deps.federation or federation_service, interval)
        balance_service = BalanceService(db, deps.clock)
        miner_service = MinerService(db, deps.clock, known=pool_service.active_miners, cache_ttl_s=interval,
                                     balances=balance_service.balances)
        block_service = BlockService(db)
        price_service = PriceService(deps.clickhouse, deps.clock)
        tax_report_service = TaxReportService(deps.clickhouse)
        payout_service = PayoutService(db, deps.clock, pay=deps.pay)
        security = build_security(deps, db)
        admin = AdminServices.build(deps, db, security.limiter, pool_service)
        registry = RegistryServices.build(db, deps.clock, stratum_endpoints(deps.settings))
        resolver = registry.token_resolver()
        worker_hardware = WorkerHardwareService(db, deps.clickhouse, deps.clock, registry.workers,
                                                deps.rigs or RigSettings.of(deps.telemetry, CoinSettings(), None))
        security.authenticator.register_resolver(resolver.prefix, resolver)  # rig agents' worker tokens
        # WebSocket /api/ws (outside /api/v1, as seed 001 shows it): one hub per app, started/stopped with it
        hub, live = build_live(db, deps.clock, pool_service.snapshot, federation_service.status,
                               queue_size=deps.settings.ws_send_queue,
                               messages_per_min=deps.settings.ws_messages_per_min,
                               authenticator=security.authenticator)

        def meta() -> Meta:
            return Meta(timestamp=deps.clock.now(), version=API_VERSION)

        def probe() -> HealthProbe:
            return deps.health

        def caller(request: Request[Any, Any, Any]) -> Principal:
            return principal_of(request)

        def pools() -> PoolService:
            return pool_service

        def miners() -> MinerService:
            return miner_service

        def blocks() -> BlockService:
            return block_service

        def federation() -> FederationService:
            return federation_service

        app_config.route_handlers.extend(
            [
                Router(
                    BASE_PATH,
                    route_handlers=[StatsController, AlgorithmsController, MinersController, BlocksController,
                                    HardwareController, FederationController, AdminController,
                                    AuthController, UsersController, SecurityController,
                                    ParticipantsController, WorkersController, OptimizationController,
                                    SystemMetricsController, ControlController, LedgerController,
                                    PricesController, PayoutsExportController, EarningsController,
                                    PayoutsController, TelemetryController, WorkerHardwareController],
                ),
                Router(BASE_PATH, route_handlers=[AlertsController, WorkerAlertsController, MobileController]),
                # the web dashboard's chart and the operator page's miners
                Router(BASE_PATH, route_handlers=[HashrateSeriesController, MinerListController]),
                # SFR rewards (issue 11): its own problem+json errors, seed paging and per-role limits
                build_router(deps.rewards_context or RewardsContext(db, deps.clock, deps.rewards),
                             rate_limit_enabled=deps.settings.rate_limit_enabled),
                metrics,
                live,
                *web_routes(),  # the web dashboard: /, /miner/{address}, /operator, /static
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
                "block_service": Provide(blocks, sync_to_thread=False),
                "balance_service": Provide(lambda: balance_service, sync_to_thread=False),
                "earnings_service": Provide(lambda: EarningsService(db, deps.clock), sync_to_thread=False),
                "hashrate_series_service": Provide(lambda: HashrateSeriesService(db, deps.clock),
                                                   sync_to_thread=False),
                "federation_service": Provide(federation, sync_to_thread=False),
                "price_service": Provide(lambda: price_service, sync_to_thread=False),
                "tax_report_service": Provide(lambda: tax_report_service, sync_to_thread=False),
                "payout_service": Provide(lambda: payout_service, sync_to_thread=False),
                **security.dependencies(),
                **admin.dependencies(),
                **registry.dependencies(),
                **alert_dependencies(deps, db),
                "telemetry_intake": Provide(lambda: deps.telemetry_intake, sync_to_thread=False),
                "worker_hardware_service": Provide(lambda: worker_hardware, sync_to_thread=False),
            }
        )
        app_config.exception_handlers[Exception] = handle_exception
        app_config.lifespan.append(pool_service.snapshot.lifespan)
        app_config.on_startup.append(hub.start)
        app_config.on_shutdown.append(hub.stop)
        if deps.telemetry_intake is not None:
            app_config.on_shutdown.append(deps.telemetry_intake.close)
        app_config.middleware.append(MetricsMiddleware())
        app_config.middleware.extend(security.middleware(BASE_PATH))
        app_config.middleware.append(admin.middleware(BASE_PATH))  # maintenance mode: after auth and limits
        app_config.on_startup.append(admin.restore)
        app_config.on_startup.append(security.bootstrap_admin)
        app_config.openapi_config = openapi_config(deps.settings.version)
        app_config.on_startup.append(mark_security)
        app_config.on_startup.append(learn_typed_paths)
        return app_config


def alert_dependencies(deps: ApiDeps, db: Db) -> dict[str, Provide]:
    """`alert_service` and `mobile_service` (alerts, per-worker alert settings, the Mobile API)."""
    alerts = AlertService(db, deps.clock, deps.telemetry)
    mobile = MobileService(db, deps.clock)
    return {"alert_service": Provide(lambda: alerts, sync_to_thread=False),
            "mobile_service": Provide(lambda: mobile, sync_to_thread=False)}
