"""GET /api/v1/monitoring/metrics (read permission): the seed 001 system metrics, from real sources.

- `system`: host figures of `api.services.system_sampler` (cpu/memory/disk in %, `network_io.in/out` in kB/s
  since the previous call).
- `mining`: `total_hashrate` (H/s, the pool's 10-minute figure summed over algorithms) and `active_workers`
  (workers with accepted work in 10 min) from the pool snapshot (bucket tables); `shares_per_second` (shares
  stored by this process's agents) and `rejection_rate` (their rejected share, 0..1) between two calls.
- `stratum`: this process's gateway: open `connections`, `jobs_sent` (new jobs sent to mining connections)
  and `shares_received` (mining.submit calls) since it started.
- `p2p`: `peers_connected` = gateways with a share in the last 10 min (federation), `federation_health`
  (idle | healthy | degraded | unhealthy by their valid-share ratio), `sync_status`: `synchronized` (every
  peer writes to this pool's one Kafka, so there is no separate state to sync) or `standalone` without peers.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from api.admin_wiring import AdminServices
from api.controllers import ERROR_RESPONSES
from api.envelope import Envelope, Meta
from api.errors import Unavailable
from api.health import federation_state
from api.security import Permission, requires
from sinks.client import first_line


class NetworkIo(msgspec.Struct, frozen=True, kw_only=True):
    in_: float = msgspec.field(name="in")  # kB/s received, all interfaces
    out: float  # kB/s sent


class SystemFigures(msgspec.Struct, frozen=True, kw_only=True):
    cpu_usage: float  # % of all cores
    memory_usage: float  # % of RAM
    disk_usage: float  # % of ClickHouse's default disk
    network_io: NetworkIo


class MiningFigures(msgspec.Struct, frozen=True, kw_only=True):
    total_hashrate: float  # H/s
    active_workers: int
    shares_per_second: float
    rejection_rate: float  # 0..1


class StratumFigures(msgspec.Struct, frozen=True, kw_only=True):
    connections: int
    jobs_sent: int
    shares_received: int


class P2pFigures(msgspec.Struct, frozen=True, kw_only=True):
    peers_connected: int
    federation_health: str
    sync_status: str


class SystemMetrics(msgspec.Struct, frozen=True, kw_only=True):
    system: SystemFigures
    mining: MiningFigures
    stratum: StratumFigures
    p2p: P2pFigures


class SystemMetricsController(Controller):
    path = "/monitoring"
    tags = ["monitoring"]

    @get("/metrics", guards=[requires(Permission.READ)], responses=ERROR_RESPONSES,
         summary="Host, mining, Stratum and federation figures (read permission)")
    async def metrics(self, admin_services: AdminServices, meta: Meta) -> Envelope[SystemMetrics]:
        host = await admin_services.sampler.host()
        ingest = admin_services.sampler.ingest()
        pool = admin_services.pool
        if pool is None:
            raise Unavailable("no pool figures in this app")
        try:
            stats = (await pool.snapshot.current()).stats
        except Exception as exc:  # ClickHouse unreachable: the answer says so (503), the rest of the API runs
            raise Unavailable(f"pool figures unavailable: {first_line(exc)}") from None
        fed = stats.federation
        return Envelope(data=SystemMetrics(
            system=SystemFigures(cpu_usage=host.cpu_usage, memory_usage=host.memory_usage, disk_usage=host.disk_usage,
                                 network_io=NetworkIo(in_=host.network_in, out=host.network_out)),
            mining=MiningFigures(total_hashrate=stats.hashrate, active_workers=stats.workers,
                                 shares_per_second=ingest.shares_per_second, rejection_rate=ingest.rejection_rate),
            stratum=StratumFigures(connections=ingest.connections, jobs_sent=ingest.jobs_sent,
                                   shares_received=ingest.shares_received),
            p2p=P2pFigures(peers_connected=fed.peers, federation_health=federation_state(fed.peers, fed.reputation),
                           sync_status="synchronized" if fed.peers else "standalone"),
        ), meta=meta)
