"""The Stratum gateway's ban list as the API's threat report wants it (GET /api/v1/security/threats).

`poolstream run` hosts the gateway and the API in one process: the gateway's lifespan puts itself in `running`
while it serves, and the API reads the bans from it (none before the gateway started or after it stopped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from api.dto.auth import BlockedIp

if TYPE_CHECKING:
    from sources.stratum.gateway import StratumGateway


def stratum_bans(running: list[StratumGateway]) -> Callable[[], list[BlockedIp]]:
    def bans() -> list[BlockedIp]:
        now = dt.datetime.now(dt.UTC)
        return [BlockedIp(ip=ip, reason=reason, detail=detail, expires_at=now + dt.timedelta(seconds=left))
                for gateway in list(running) for ip, reason, detail, left in gateway.admission.bans()]

    return bans
