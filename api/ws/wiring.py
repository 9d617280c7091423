"""How the app builds its live part: the hub with its feeds (the pool snapshot for `stats` and `hardware`,
the federation service, ClickHouse reads for blocks and miners) and the `/api/ws` handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.handlers import WebsocketRouteHandler

from api.services.db import Db
from api.services.pool import PoolView
from api.services.snapshot import Snapshot
from api.ws.alert_feed import AlertFeed
from api.ws.feeds import BlockFeed, MinerFeed
from api.ws.handler import LiveConfig, live_handler
from api.ws.hub import Feeds, Hub
from api.ws.protocol import StatsData
from api.ws.session import TokenResolver
from schemas.clock import Clock


def stats_data(view: PoolView | None) -> StatsData | None:
    """The seed `stats` push of a pool snapshot: its 10-minute hashrate, active miners and the share
    difficulty of its first served algorithm (seed 001 shows the same 65536 as the /algorithms entry)."""
    if view is None:
        return None
    stats = view.stats
    difficulty = view.algorithms[0].difficulty if view.algorithms else 0.0
    return StatsData(hashrate=stats.hashrate, miners=stats.miners, difficulty=difficulty,
                     workers=stats.workers, updated_at=stats.updated_at)


def build_live(db: Db, clock: Clock, snapshot: Snapshot[PoolView], federation: Callable[[], Awaitable[Any]],
               *, queue_size: int, messages_per_min: int,
               authenticator: TokenResolver | None) -> tuple[Hub, WebsocketRouteHandler]:
    """The hub (start/stop it with the app) and the `/api/ws` route handler."""

    async def hardware() -> Any:
        return (await snapshot.current()).hardware

    hub = Hub(Feeds(stats=lambda: stats_data(snapshot.latest()), blocks=BlockFeed(db, clock),
                    miners=MinerFeed(db, clock), hardware=hardware, federation=federation,
                    alerts=AlertFeed(db, clock)))
    config = LiveConfig(hub=hub, queue_size=queue_size, messages_per_min=messages_per_min,
                        authenticator=authenticator)
    return hub, live_handler(config)
