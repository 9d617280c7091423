"""The threat report's banned IPs come from the Stratum gateway's admission (reason and expiry included)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from typing import Any

from api.ratelimit import RateLimiter
from api.security import Tier
from api.services.security import SecurityService
from poolstream.stratum_bans import stratum_bans
from schemas.clock import FixedClock
from sources.stratum.admission import Admission
from sources.stratum.settings import StratumSettings


class Conn:
    def __init__(self, ip: str) -> None:
        self.ip, self.closed, self.closing = ip, False, False

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def shut(self, message: str) -> None:
        self.closed = True


def test_banned_ips_reach_the_threat_report_with_reason_and_expiry() -> None:
    now = [100.0]
    adm = Admission(dataclasses.replace(StratumSettings(), ban_check_after=2, ban_invalid_percent=10.0,
                                        ban_time_s=300.0), lambda: now[0])
    bad, good = Conn("203.0.113.9"), Conn("198.51.100.1")
    assert adm.admit(bad) and adm.admit(good)
    adm.judge(bad, "invalid")
    adm.judge(bad, "invalid")
    [(ip, reason, detail, left)] = adm.bans()
    assert (ip, reason, left) == ("203.0.113.9", "invalid_shares", 300.0) and "2 of 2" in detail

    running: list[Any] = [SimpleNamespace(admission=adm)]
    limits = RateLimiter({t: 10 for t in Tier})
    service = SecurityService(None, limits, FixedClock(dt.datetime.now(dt.UTC)),  # type: ignore[arg-type]
                              jwt_enabled=False, basic_auth=False, stratum_bans=stratum_bans(running))
    threats = service.threats()
    assert threats.blocked_ips == ["203.0.113.9"] and threats.active_threats == 1
    expires = threats.blocked[0].expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=290) < expires <= dt.timedelta(seconds=300)
    now[0] += 301
    assert service.threats().blocked_ips == []
    running.clear()  # the gateway stopped
    assert service.threats().active_threats == 0
