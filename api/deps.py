"""What the API needs from the composition root: the ClickHouse client, the clock, settings, the health
probe and the lifespans of the components sharing the event loop (Faust, the scheduler, Stratum)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from litestar import Litestar

from api.dto.auth import BlockedIp
from api.health import HealthProbe
from api.rewards.context import RewardsContext
from api.rewards.settings import RewardsSettings
from api.services.gateway_control import GatewayControl
from api.services.pool import FederationSource
from api.services.telemetry_ingest import TelemetryIntake
from api.settings import ApiSettings
from schemas.clock import Clock
from schemas.telemetry_settings import TelemetrySettings
from sinks.client import ClickHouseSettings
from sinks.payouts import Payout
from sinks.rig_figures import RigSettings


@dataclass
class ApiDeps:
    clickhouse: Client
    clock: Clock
    settings: ApiSettings
    health: HealthProbe
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = ()
    #: the Stratum gateway's banned IPs, when it runs in this process (GET /security/threats)
    stratum_bans: Callable[[], list[BlockedIp]] | None = None
    #: peers, shared hashrate and reputation for /stats `federation` (None: the pool alone, api.services.pool)
    federation: FederationSource | None = None
    #: start/stop/restart and the live vardiff target of this process's Stratum gateway (None: no gateway)
    gateway: GatewayControl | None = None
    #: where ClickHouse is and where backups go (None in unit tests: backups refused)
    clickhouse_settings: ClickHouseSettings | None = None
    #: manual payouts (POST /payouts): (coin, address, base units) -> the payout; None: refused (503)
    pay: Callable[[str, str, int], Payout] | None = None
    #: the hardware side's settings: electricity prices, alert thresholds, notification channels
    telemetry: TelemetrySettings = TelemetrySettings()
    #: publishes POST /telemetry's accepted readings to the `telemetry` topic (None: that endpoint answers 503)
    telemetry_intake: TelemetryIntake | None = None
    #: electricity prices, coins and expected rewards for /workers/{id}/stats (None: from `telemetry`, default
    #: coins, no PPS estimate)
    rigs: RigSettings | None = None
    #: the SFR rewards resource's settings (per-role rate limits, test endpoints)
    rewards: RewardsSettings = RewardsSettings()
    #: the rewards resource's context (lock, ids, audit), shared with the SFR batch and mining jobs so one lock
    #: covers every rewards write of the process; None: the plugin makes one from `clickhouse` and `rewards`
    rewards_context: RewardsContext | None = None
