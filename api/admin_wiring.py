"""Builds the operator side of the app from `ApiDeps`: live config (and maintenance mode), backups, analysts'
SQL, host sampling and the Stratum gateway control, as one `admin_services` dependency."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client
from litestar.di import Provide

from api.deps import ApiDeps
from api.errors import InvalidRequest
from api.health import NOT_CONFIGURED, AdminHealth, HealthReport, HostMetrics, federation_state, seed_health
from api.maintenance import MaintenanceMiddleware, MaintenanceState
from api.services.backup import BackupService
from api.services.db import Db
from api.services.gateway_control import GatewayControl, GatewayState
from api.services.live_config import AUDIT_COLUMNS, ConfigHooks, Limiter, LiveConfig
from api.services.pool import PoolService
from api.services.query import QueryRefused, QueryService
from api.services.system_sampler import SystemSampler
from sinks.client import ClickHouseSettings, connect, first_line

log = logging.getLogger(__name__)


@dataclass
class AdminServices:
    config: LiveConfig
    backups: BackupService
    query: QueryService
    sampler: SystemSampler
    maintenance: MaintenanceState
    gateway: GatewayControl | None
    pool: PoolService | None
    deps: ApiDeps
    db: Db
    started_at: float = field(default_factory=time.time)

    @classmethod
    def build(cls, deps: ApiDeps, db: Db, limiter: Limiter | None, pool: PoolService | None) -> AdminServices:
        maintenance = MaintenanceState()
        ch = deps.clickhouse_settings or ClickHouseSettings(dsn="chdb://memory",
                                                            database=str(getattr(deps.clickhouse, "database", "")))
        s = deps.settings
        return cls(
            config=LiveConfig(db, deps.clock, ConfigHooks(maintenance, limiter, deps.gateway)),
            backups=BackupService(deps.clickhouse, db, deps.clock, ch, ch.database),
            query=QueryService(lambda: _query_client(deps), db, deps.clock,
                               max_rows=s.query_max_rows, timeout_s=s.query_timeout_s),
            sampler=SystemSampler(db), maintenance=maintenance, gateway=deps.gateway, pool=pool, deps=deps, db=db,
        )

    def dependencies(self) -> dict[str, Provide]:
        def provide() -> AdminServices:
            return self

        return {"admin_services": Provide(provide, sync_to_thread=False)}

    def middleware(self, prefix: str) -> MaintenanceMiddleware:
        return MaintenanceMiddleware(self.maintenance, prefix)

    async def restore(self, _: Any = None) -> None:
        """At start: stored live settings applied again (ClickHouse unreachable: said, and the defaults run)."""
        try:
            await self.config.restore()
        except Exception as exc:  # the app must start even so; the operator sees why the changes are not in effect
            log.warning("stored live config not applied: %s", first_line(exc))

    def stratum_state(self) -> str:
        if self.gateway is None:
            return NOT_CONFIGURED
        state = self.gateway.status().state
        return "healthy" if state == "running" else state

    def federation_state(self) -> str:
        view = self.pool.snapshot.latest() if self.pool is not None else None
        if view is None:
            return "unknown" if self.pool is not None else NOT_CONFIGURED  # before the first snapshot
        fed = view.stats.federation
        return federation_state(fed.peers, fed.reputation)

    async def host_metrics(self) -> HostMetrics:
        host = await self.sampler.host()
        return HostMetrics(cpu_usage=host.cpu_usage, memory_usage=host.memory_usage, disk_usage=host.disk_usage,
                           network_in=host.network_in, network_out=host.network_out)

    async def health(self, report: HealthReport) -> AdminHealth:
        return seed_health(report, await self.host_metrics(), stratum=self.stratum_state(),
                           federation=self.federation_state())

    async def control(self, action: str, actor: str, ip: str) -> GatewayState:
        """Start, stop or restart the gateway (INVALID_REQUEST when none runs in this process); audited."""
        if self.gateway is None:
            raise InvalidRequest(f"cannot {action} the Stratum gateway: none runs in this process (API alone, "
                                 "or STRATUM_ENABLED=false); it is controlled in the `poolstream run` process")
        before = self.gateway.status().state
        state = await {"start": self.gateway.start, "stop": self.gateway.stop, "restart": self.gateway.restart}[action]()
        details = msgspec.json.encode({"before": before, "after": state.state}).decode()
        await self.db.insert("audit_log", [(self.deps.clock.now(), actor, f"stratum.{action}", "gateway", details, ip)],
                             AUDIT_COLUMNS)
        return state


def _query_client(deps: ApiDeps) -> Client:
    """A handle of its own for analysts' queries: `readonly=1` sticks to the handle that ran it, so the shared
    one (which writes the audit log) is never used."""
    if deps.clickhouse_settings is None:
        raise QueryRefused("analysts' queries need the ClickHouse settings in ApiDeps (the runtime passes them)")
    return connect(deps.clickhouse_settings)
