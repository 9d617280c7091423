"""Alert events for the WebSocket `hardware` channel: each alert once when it opens and once when it clears,
from the first subscription on (older alerts are history: GET /api/v1/alerts)."""

from __future__ import annotations

import datetime as dt

from api.dto.alerts import AlertInfo
from api.services.alerts import alert_info
from api.services.db import Db
from api.services.windows import to_ms
from schemas.alerts import ALERT_COLUMNS, alert_from_row
from schemas.clock import Clock

#: An alert row counts as new if written at most this much before the first subscription, and is looked for
#: up to LOOKBACK after it was written (the evaluator writes each state once).
GRACE = dt.timedelta(seconds=5)
LOOKBACK = dt.timedelta(minutes=10)
_ALERTS = (f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL "
           "WHERE updated_at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') ORDER BY updated_at")


class AlertFeed:
    """Alerts opened or cleared since the first subscription, one event per (alert, state)."""

    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._since = clock.now() - GRACE
        self._seen: dict[str, int] = {}  # "id:state" -> when it was written (ms), pruned after LOOKBACK

    def start(self) -> None:
        self._since = self._clock.now() - GRACE
        self._seen.clear()

    async def poll(self) -> list[AlertInfo]:
        now = self._clock.now()
        since_ms = to_ms(max(self._since, now - LOOKBACK))
        self._seen = {event: at for event, at in self._seen.items() if at >= since_ms}
        found = []
        for row in await self._db.rows(_ALERTS, {"since_ms": since_ms}):
            alert = alert_from_row(row)
            event = f"{alert.id}:{'open' if alert.is_open else 'cleared'}"
            if event not in self._seen:
                self._seen[event] = to_ms(alert.updated_at)
                found.append(alert_info(alert, now))
        return found
