"""Who may connect: connection limits (in total and per IP) and bans of IPs whose shares are mostly invalid.

Every `ban_check_after` shares of an IP (over all its connections and ports), its ratio of invalid shares
(low difficulty, malformed, invalid, duplicate) is judged; above `ban_invalid_percent` the IP's connections
are closed and new ones refused for `ban_time_s` (0 disables bans). Mining farms sit behind NAT, so the
per-IP limit is generous by default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sources.stratum import metrics
from sources.stratum.contracts import Connection
from sources.stratum.settings import StratumSettings

log = logging.getLogger(__name__)

INVALID_FOR_BAN = frozenset({"low_difficulty", "malformed", "invalid", "duplicate"})


class Admission:
    """Connection limits and bans for the whole gateway (all ports); `time` is the loop's monotonic clock."""

    def __init__(self, settings: StratumSettings, time: Callable[[], float]) -> None:
        self._max_total = settings.max_connections
        self._max_per_ip = settings.max_connections_per_ip
        self._ban_check_after = settings.ban_check_after
        self._ban_invalid_percent = settings.ban_invalid_percent
        self._ban_time_s = settings.ban_time_s
        self._time = time
        self._by_ip: dict[str, set[Connection]] = {}
        self._total = 0
        self._banned: dict[str, float] = {}  # ip -> loop time the ban ends
        self._ip_stats: dict[str, list[int]] = {}  # ip -> [shares, invalid shares] since the last judgement
        self.closing = False  # set at shutdown: refuse everything, silently
        #: `judge` when bans are enabled, else None (the verdict loop then skips the call)
        self.judge_or_none = self.judge if self._ban_time_s > 0 else None

    @property
    def count(self) -> int:
        """Open connections, all ports."""
        return self._total

    def admit(self, conn: Connection) -> bool:
        """Count a new connection in, or refuse it (shutting down, banned IP, a limit reached)."""
        if self.closing:
            return False
        ip = conn.ip
        until = self._banned.get(ip)
        if until is not None:
            if until > self._time():
                metrics.refused("banned")
                return False
            del self._banned[ip]
        if self._total >= self._max_total:
            metrics.refused("max_connections")
            return False
        conns = self._by_ip.get(ip)
        if conns is None:
            conns = self._by_ip[ip] = set()
        elif len(conns) >= self._max_per_ip:
            metrics.refused("max_connections_per_ip")
            return False
        conns.add(conn)
        self._total += 1
        return True

    def release(self, conn: Connection) -> None:
        conns = self._by_ip.get(conn.ip)
        if conns is None or conn not in conns:
            return
        conns.discard(conn)
        self._total -= 1
        if not conns:
            del self._by_ip[conn.ip]

    def judge(self, conn: Connection, result: str) -> None:
        """Count one share verdict of `conn`'s IP; ban the IP (closing its connections) when the judged
        window holds too many invalid shares."""
        ip = conn.ip
        stats = self._ip_stats.get(ip)
        if stats is None:
            stats = self._ip_stats[ip] = [0, 0]
        stats[0] += 1
        if result in INVALID_FOR_BAN:
            stats[1] += 1
        if stats[0] < self._ban_check_after:
            return
        total, invalid = stats
        del self._ip_stats[ip]
        if invalid * 100 > self._ban_invalid_percent * total:
            log.warning("banning %s for %.0fs: %d of %d shares invalid", ip, self._ban_time_s, invalid, total)
            self._banned[ip] = self._time() + self._ban_time_s
            metrics.refused("banned")
            for other in list(self._by_ip.get(ip, ())):
                other.close()
