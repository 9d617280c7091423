"""Who may connect, and for how long without logging in: connection limits, login timeouts, strikes and bans.

For the whole gateway (all ports), per source IP:

* limits: `max_connections` in total and `max_connections_per_ip`; new connections per IP through a token
  bucket (a burst of `max_connections_per_ip`, then `connect_rate_per_ip` per second), checked on the bare
  accepted socket (`precheck`, called by `listener.Listener` on its accept thread) before anything is
  built for it. When the gateway is full, the oldest connection that has not authorized yet is evicted
  to make room, so a flood of idle connections cannot lock miners out;
* logins: a connection that is not subscribed and authorized within `login_timeout_s` is closed;
* strikes: each abusive disconnect (line too long, too many errors, login or line timeout, connecting too
  fast, evicted or gone before authorizing) is a strike against the IP; strikes are forgiven at
  `ban_strikes` per minute, and an IP with more than `ban_strikes` is banned;
* invalid shares: every `ban_check_after` shares of an IP (all its connections and ports), its ratio of
  invalid shares (low difficulty, malformed, invalid, duplicate) is judged; above `ban_invalid_percent`
  the IP is banned.

A ban closes every connection of the IP and refuses new ones for `ban_time_s` (0 disables bans, strikes
and invalid-share judgements). Mining farms sit behind NAT, so the per-IP limits are generous by default.
"IP" is an IPv4 address or an IPv6 /64 (`ip_key`). Every refusal and closing is counted and logged through
`metrics.refused`; closings that come in waves (bans, timeouts) go through `close_later`, in batches.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Callable

from sources.stratum import metrics
from sources.stratum.contracts import Closable, Connection
from sources.stratum.settings import StratumSettings

INVALID_FOR_BAN = frozenset({"low_difficulty", "malformed", "invalid", "duplicate"})
FORGET_AFTER_S = 60.0  # an IP without connections is forgotten this long after its last connect
CLOSE_BATCH = 8  # connections closed per event loop iteration by `close_later` (each ~0.3 ms under a flood)


def ip_key(ip: str) -> str:
    """What limits, strikes and bans apply to: an IPv4 address, or the /64 network of an IPv6 one (one host
    usually holds a whole /64, so per-address limits would not hold it)."""
    if ":" not in ip:
        return ip
    if ip.startswith("::ffff:") and "." in ip:
        return ip[7:]
    try:
        return f"{ipaddress.IPv6Network((ip, 64), strict=False).network_address}/64"
    except ValueError:
        return ip


class _Ip:
    """What admission knows of one source address."""

    __slots__ = ("conns", "tokens", "stamp", "strikes", "struck", "shares", "invalid")

    def __init__(self, tokens: float, now: float) -> None:
        self.conns: set[Connection] = set()
        self.tokens = tokens  # connect token bucket
        self.stamp = now  # last connect
        self.strikes = 0.0
        self.struck = now  # last strike
        self.shares = 0  # shares and invalid shares since the last judgement
        self.invalid = 0


class Admission:
    """Connection limits, login timeouts, strikes and bans for the whole gateway (all ports); `time` is the
    loop's monotonic clock."""

    def __init__(
        self, settings: StratumSettings, time: Callable[[], float],
        defer: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:  # fmt: skip
        self._max_total = settings.max_connections
        self._max_per_ip = settings.max_connections_per_ip
        self._burst = float(settings.max_connections_per_ip)
        self._rate = settings.connect_rate_per_ip
        self._login_timeout_s = settings.login_timeout_s
        self._ban_check_after = settings.ban_check_after
        self._ban_invalid_percent = settings.ban_invalid_percent
        self._ban_strikes = settings.ban_strikes
        self._forgive_per_s = settings.ban_strikes / 60.0
        self._ban_time_s = settings.ban_time_s
        self._time = time
        self._ips: dict[str, _Ip] = {}
        self._pending: OrderedDict[Connection, float] = OrderedDict()  # not authorized yet -> connected at
        self._total = 0
        self._banned: dict[str, float] = {}  # ip -> loop time the ban ends
        self._ban_reasons: dict[str, tuple[str, str]] = {}  # ip -> (reason, detail) of its ban
        self._forget_at = 0.0
        self._defer = defer  # the loop's call_soon (None: close at once)
        self._to_close: deque[tuple[Closable, str]] = deque()
        self.closing = False  # set at shutdown: refuse everything, silently
        #: connections this admission counts but does not hold: those the door (`door.py`) handed to the
        #: gateway process, per IP and in all, until the gateway says they are gone
        self._elsewhere: dict[str, int] = {}
        self._elsewhere_total = 0
        #: called with (ip, seconds, reason, detail) for each ban decided here (the door and the gateway
        #: tell each other theirs, see `apply_ban`)
        self.on_ban: Callable[[str, float, str, str], None] | None = None
        #: `judge` when bans are enabled, else None (the verdict loop then skips the call)
        self.judge_or_none = self.judge if self._ban_time_s > 0 else None

    @property
    def count(self) -> int:
        """Open connections, all ports."""
        return self._total

    @property
    def pending(self) -> int:
        """Open connections that have not authorized yet."""
        return len(self._pending)

    def bans(self) -> list[tuple[str, str, str, float]]:
        """The IPs banned now: (ip, reason, detail, seconds until the ban ends); for the API's threat report."""
        now = self._time()
        return [(ip, *self._ban_reasons.get(ip, ("", "")), until - now)
                for ip, until in list(self._banned.items()) if until > now]

    def is_banned(self, ip: str) -> bool:
        until = self._banned.get(ip_key(ip))
        return until is not None and until > self._time()

    def precheck(self, ip: str) -> str | None:
        """A socket just accepted from `ip`, before anything is built for it: the reason to refuse it
        (shutting down, banned, connecting too fast, at its connection limit), or None to go on.

        Runs on the listener's accept thread: it only reads the loop's state and updates the connect token
        bucket (races with the loop are benign: one connection more or less), never closes anything; the
        caller counts the refusal and sends a `connect_rate` refusal to the loop as a strike."""
        if self.closing:
            return "closing"
        ip = ip_key(ip)
        now = self._time()
        until = self._banned.get(ip)
        if until is not None and until > now:
            return "banned"
        st = self._ips.get(ip)
        if st is None:
            st = self._ips[ip] = _Ip(self._burst, now)
        else:
            st.tokens = min(self._burst, st.tokens + (now - st.stamp) * self._rate)
            st.stamp = now
        if st.tokens < 1:
            return "connect_rate"
        st.tokens -= 1
        if len(st.conns) + self._elsewhere.get(ip, 0) >= self._max_per_ip:
            return "max_connections_per_ip"
        return None

    def admit(self, conn: Connection) -> bool:
        """Count a connection that passed `precheck` in, or refuse it (banned or at the per-IP limit since,
        or the gateway is full and every connection is authorized). When full, the oldest connection not
        authorized yet is evicted to make room."""
        if self.closing:
            return False
        ip = ip_key(conn.ip)
        now = self._time()
        if self.is_banned(ip):
            metrics.refused("banned", ip, "refused a connection from banned")
            return False
        st = self._ips.get(ip)
        if st is None:
            st = self._ips[ip] = _Ip(self._burst, now)
        if len(st.conns) + self._elsewhere.get(ip, 0) >= self._max_per_ip:
            metrics.refused("max_connections_per_ip", ip, "refused a connection (per-IP limit) from")
            return False
        if self._total + self._elsewhere_total >= self._max_total:
            if not self._pending:
                metrics.refused("max_connections", ip, "refused a connection (gateway full) from")
                return False
            oldest = next(iter(self._pending))
            metrics.refused("evicted", oldest.ip, "gateway full: evicted a connection not authorized yet from")
            self.release(oldest)
            oldest.abort()
            self.strike(oldest.ip, "evicted")
        st.conns.add(conn)
        self._total += 1
        self._pending[conn] = now
        return True

    def adopt(self, conn: Connection) -> None:
        """Count in a connection that logged in at the door (which applied the limits): never refused."""
        ip = ip_key(conn.ip)
        st = self._ips.get(ip)
        if st is None:
            st = self._ips[ip] = _Ip(self._burst, self._time())
        st.conns.add(conn)
        self._total += 1

    def held_elsewhere(self, ip: str, change: int) -> None:
        """The door: a connection of `ip` went to the gateway process (+1), or is gone there (-1)."""
        ip = ip_key(ip)
        n = self._elsewhere.get(ip, 0) + change
        if n > 0:
            self._elsewhere[ip] = n
        else:
            self._elsewhere.pop(ip, None)
        self._elsewhere_total = max(0, self._elsewhere_total + change)

    def authorized(self, conn: Connection) -> None:
        """`conn` is subscribed and authorized: no login timeout, no eviction any more."""
        self._pending.pop(conn, None)

    def release(self, conn: Connection) -> None:
        """The connection is gone (idempotent)."""
        self._pending.pop(conn, None)
        st = self._ips.get(ip_key(conn.ip))
        if st is None or conn not in st.conns:
            return
        st.conns.discard(conn)
        self._total -= 1

    def expire(self, now: float) -> None:
        """Periodic (the gateway's sweep): close connections past their login timeout, forget quiet IPs and
        ended bans."""
        deadline = now - self._login_timeout_s
        while self._pending:
            conn, since = next(iter(self._pending.items()))
            if since > deadline:
                break
            del self._pending[conn]
            metrics.refused("login_timeout", conn.ip, "closed a connection not authorized in time from")
            self.close_later(conn, "Not subscribed and authorized in time")
            self.strike(conn.ip, "login_timeout")
        if now >= self._forget_at:
            self._forget_at = now + FORGET_AFTER_S / 4
            # list(...) copies in one step: the accept thread may add entries meanwhile
            for ip, st in list(self._ips.items()):
                if not st.conns and now - st.stamp > FORGET_AFTER_S:
                    self._ips.pop(ip, None)
            for ip, until in list(self._banned.items()):
                if until <= now:
                    self._banned.pop(ip, None)
                    self._ban_reasons.pop(ip, None)

    def strike(self, ip: str, reason: str) -> None:
        """One abusive disconnect (or refused connect) of `ip`; bans it past `ban_strikes`."""
        ip = ip_key(ip)
        st = self._ips.get(ip)
        if st is None or not self._ban_time_s:
            return
        now = self._time()
        metrics.strike(reason)
        st.strikes = max(0.0, st.strikes - (now - st.struck) * self._forgive_per_s) + 1
        st.struck = now
        if st.strikes > self._ban_strikes:
            st.strikes = 0.0
            self._ban(ip, st, "abuse", f"more than {self._ban_strikes} abusive disconnects, the last: {reason}")

    def judge(self, conn: Connection, result: str) -> None:
        """Count one share verdict of `conn`'s IP; ban the IP when the judged window holds too many invalid
        shares."""
        ip = ip_key(conn.ip)
        st = self._ips.get(ip)
        if st is None:
            return
        st.shares += 1
        if result in INVALID_FOR_BAN:
            st.invalid += 1
        if st.shares < self._ban_check_after:
            return
        total, invalid = st.shares, st.invalid
        st.shares = st.invalid = 0
        if invalid * 100 > self._ban_invalid_percent * total:
            self._ban(ip, st, "invalid_shares", f"{invalid} of {total} shares invalid")

    def _ban(self, ip: str, st: _Ip, reason: str, detail: str) -> None:
        if self.is_banned(ip):
            return
        metrics.banned(reason, ip, self._ban_time_s, detail)
        self._close_banned(ip, st, self._ban_time_s, reason, detail)
        if self.on_ban is not None:
            self.on_ban(ip, self._ban_time_s, reason, detail)

    def apply_ban(self, ip: str, seconds: float, reason: str, detail: str) -> None:
        """A ban the other side (door or gateway process) decided and counted: refuse and close here too."""
        ip = ip_key(ip)
        st = self._ips.get(ip)
        if st is None:
            st = self._ips[ip] = _Ip(self._burst, self._time())
        self._close_banned(ip, st, seconds, reason, detail)

    def _close_banned(self, ip: str, st: _Ip, seconds: float, reason: str, detail: str) -> None:
        self._banned[ip] = self._time() + seconds
        self._ban_reasons[ip] = (reason, detail)
        for other in [c for c in st.conns if not c.closed and not c.closing]:
            metrics.refused("banned", ip, "closed a connection of banned")
            self.close_later(other, f"Banned for {self._ban_time_s:.0f}s: {reason.replace('_', ' ')}")

    def close_later(self, conn: Closable, message: str) -> None:
        """Close `conn` with a last `message`: what it sends from now on is dropped unread (`closing`), and
        it is closed within a few loop iterations, `CLOSE_BATCH` per iteration. A ban or a wave of timeouts
        can close thousands of connections at once; closed in one go (or even paused, one syscall each),
        they stalled the event loop for tens to hundreds of ms."""
        if conn.closed or conn.closing:
            return
        conn.closing = True
        if self._defer is None:
            conn.shut(message)
            return
        self._to_close.append((conn, message))
        if len(self._to_close) == 1:
            self._defer(self._close_some)

    def _close_some(self) -> None:
        for _ in range(min(CLOSE_BATCH, len(self._to_close))):
            conn, message = self._to_close.popleft()
            conn.shut(message)
        if self._to_close and self._defer is not None:
            self._defer(self._close_some)
