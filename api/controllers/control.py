"""Seed 002's rig-side REST API mapped onto the pool's own components, under /api/v1.

- `GET /health` (open): seed fields at the top level {status, timestamp, components{mining, network, hardware,
  security}} (mining = the Stratum gateway, network = Kafka, hardware = this host, security = the API's
  authentication, in process), plus `success`, `meta` and `data` = the full GET /admin/health answer; 503 when
  unhealthy, like /admin/health.
- `GET /status` (read): {running (the gateway accepts shares), start_time, uptime, components{mining,
  monitoring, security}} plus `gateway`, `clickhouse`, `kafka`, `broker` and `agents`.
- `GET /config`, `POST /config` (admin): the live configuration, the same as GET/PUT /admin/config.
- `POST /control/start|stop|restart` (admin): the gateway stops accepting connections and shares and drains
  (queued submits verified, every share event published and flushed), starts again, or both. Without a
  gateway in this process (API alone): INVALID_REQUEST naming why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post

from api.admin_wiring import AdminServices
from api.controllers import ERROR_RESPONSES
from api.controllers.admin import ADMIN, client_ip
from api.envelope import Envelope, Meta
from api.health import NOT_CONFIGURED, AdminHealth, AgentHealth, BrokerHealth, ComponentHealth, HealthProbe
from api.security import Permission, Principal, requires
from api.security_events import EVENTS
from api.services.gateway_control import GatewayState
from api.services.live_config import ConfigChange, ConfigUpdate, LiveConfigView
from api.services.system_sampler import counter_total


class RigHealth(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    timestamp: dt.datetime
    components: dict[str, str]
    success: bool
    meta: Meta
    data: AdminHealth


class MiningStatus(msgspec.Struct, frozen=True, kw_only=True):
    status: str  # mining | stopped | starting | stopping | not_configured
    current_pool: str | None  # stratum+tcp://host:port of the first served port
    hashrate: float  # H/s, the pool's 10-minute figure
    accepted_shares: int  # submits this process's gateway accepted since it started
    rejected_shares: int


class MonitoringStatus(msgspec.Struct, frozen=True, kw_only=True):
    cpu_percent: float
    memory_percent: float
    disk_usage_percent: float


class SecurityStatus(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    blocked_ips: int  # IPs the Stratum gateway bans now
    rate_limited_requests: int  # API requests answered 429 since start


class StatusComponents(msgspec.Struct, frozen=True, kw_only=True):
    mining: MiningStatus
    monitoring: MonitoringStatus
    security: SecurityStatus


class RigStatus(msgspec.Struct, frozen=True, kw_only=True):
    running: bool
    start_time: dt.datetime
    uptime: int  # seconds
    components: StatusComponents
    gateway: GatewayState | None
    clickhouse: ComponentHealth
    kafka: ComponentHealth
    broker: BrokerHealth | None
    agents: list[AgentHealth]


def _gateway(admin_services: AdminServices) -> GatewayState | None:
    return admin_services.gateway.status() if admin_services.gateway is not None else None


class ControlController(Controller):
    path = "/"
    tags = ["control"]

    @get("/health", summary="Seed 002 health (no key needed); 503 when unhealthy", responses=ERROR_RESPONSES)
    async def health(self, health_probe: HealthProbe, admin_services: AdminServices,
                     meta: Meta) -> Response[RigHealth]:
        report = await health_probe.check()
        full = await admin_services.health(report)
        host = full.metrics
        c = full.components
        components = {
            "mining": c["stratum"],
            "network": c["kafka"],
            "hardware": "degraded" if max(host.memory_usage, host.disk_usage) > 90 else "healthy",
            "security": "healthy",
            **c,
        }
        body = RigHealth(status=full.status, timestamp=meta.timestamp, components=components, success=report.ok,
                         meta=meta, data=full)
        return Response(body, status_code=200 if report.ok else 503)

    @get("/status", guards=[requires(Permission.READ)], responses=ERROR_RESPONSES,
         summary="Seed 002 status: gateway, ClickHouse, Kafka, broker and agents (read permission)")
    async def status(self, health_probe: HealthProbe, admin_services: AdminServices,
                     meta: Meta) -> Envelope[RigStatus]:
        report = await health_probe.check()
        host = await admin_services.sampler.host()
        gateway = _gateway(admin_services)
        view = admin_services.pool.snapshot.latest() if admin_services.pool is not None else None
        submitted = counter_total("poolstream_stratum_submits_total")
        accepted = counter_total("poolstream_stratum_submits_total", result="accepted")
        settings = admin_services.deps.settings
        ports = settings.stratum_ports
        host_name = settings.stratum_public_host or settings.stratum_host
        started = admin_services.started_at
        bans = admin_services.deps.stratum_bans() if admin_services.deps.stratum_bans is not None else []
        mining = MiningStatus(
            status=NOT_CONFIGURED if gateway is None else "mining" if gateway.state == "running" else gateway.state,
            current_pool=f"stratum+tcp://{host_name}:{ports[0].port}" if ports and gateway is not None else None,
            hashrate=view.stats.hashrate if view is not None else 0.0,
            accepted_shares=int(accepted), rejected_shares=int(submitted - accepted))
        data = RigStatus(
            running=gateway is not None and gateway.state == "running",
            start_time=dt.datetime.fromtimestamp(started, dt.UTC),
            uptime=int(meta.timestamp.timestamp() - started) if meta.timestamp.timestamp() > started else 0,
            components=StatusComponents(
                mining=mining,
                monitoring=MonitoringStatus(cpu_percent=host.cpu_usage, memory_percent=host.memory_usage,
                                            disk_usage_percent=host.disk_usage),
                security=SecurityStatus(status="active", blocked_ips=len(bans),
                                        rate_limited_requests=EVENTS.counts().get("rate_limited", 0))),
            gateway=gateway, clickhouse=report.clickhouse, kafka=report.kafka, broker=report.broker,
            agents=report.agents)
        return Envelope(data=data, meta=meta)

    @get("/config", guards=ADMIN, summary="Seed 002: the live configuration (admin)", responses=ERROR_RESPONSES)
    async def config(self, admin_services: AdminServices, meta: Meta) -> Envelope[LiveConfigView]:
        return Envelope(data=admin_services.config.current(), meta=meta)

    @post("/config", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="Seed 002: change settings live (admin; the same as PUT /admin/config)")
    async def update_config(self, data: ConfigUpdate, admin_services: AdminServices, caller: Principal,
                            request: Request[Any, Any, Any], meta: Meta) -> Envelope[ConfigChange]:
        return Envelope(data=await admin_services.config.update(data, caller.subject, client_ip(request)), meta=meta)

    @post("/control/start", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="Seed 002: start the Stratum gateway again (admin)")
    async def start(self, admin_services: AdminServices, caller: Principal, request: Request[Any, Any, Any],
                    meta: Meta) -> Envelope[GatewayState]:
        return Envelope(data=await admin_services.control("start", caller.subject, client_ip(request)), meta=meta)

    @post("/control/stop", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="Seed 002: stop the Stratum gateway: refuse new shares, drain and flush what was received (admin)")
    async def stop(self, admin_services: AdminServices, caller: Principal, request: Request[Any, Any, Any],
                   meta: Meta) -> Envelope[GatewayState]:
        return Envelope(data=await admin_services.control("stop", caller.subject, client_ip(request)), meta=meta)

    @post("/control/restart", guards=ADMIN, status_code=200, responses=ERROR_RESPONSES,
          summary="Seed 002: stop (drain) then start the Stratum gateway (admin)")
    async def restart(self, admin_services: AdminServices, caller: Principal, request: Request[Any, Any, Any],
                      meta: Meta) -> Envelope[GatewayState]:
        return Envelope(data=await admin_services.control("restart", caller.subject, client_ip(request)), meta=meta)
