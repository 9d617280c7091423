"""Prometheus metrics of the gateway (default registry): connections, submits by result, verify latency,
refused or closed connections, protocol errors and strikes by reason, bans, blocks found, job source errors.

Every connection a safety rule refuses or closes is counted here and logged through `refused()`, and every
ban through `banned()`; their log lines are throttled per reason (a flood must not become a logging flood):
the first few of each reason per `LOG_WINDOW_S` are logged with the address, the rest are summed into one
line when the window is over.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

CONNECTIONS = Gauge(
    "poolstream_stratum_connections", "Open Stratum connections", ["algorithm"]
)
SUBMITS = Counter(
    "poolstream_stratum_submits", "mining.submit calls by verdict", ["algorithm", "result"]
)
VERIFY_SECONDS = Histogram(
    "poolstream_stratum_verify_seconds",
    "Time from a submit's arrival to its verdict (batch wait + kernel)",
    ["algorithm"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
KERNEL_BATCH = Histogram(
    "poolstream_stratum_verify_batch_size", "Submits per verification kernel call", ["algorithm"],
    buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384),
)
WAITING = Gauge(
    "poolstream_stratum_waiting_connections",
    "Connections at the door process, not logged in yet (not in poolstream_stratum_connections)", ["algorithm"]
)
REFUSED = Counter(
    "poolstream_stratum_refused_connections", "Connections refused or closed by a safety rule", ["reason"]
)
PROTOCOL_ERRORS = Counter(
    "poolstream_stratum_protocol_errors",
    "Requests answered with a JSON-RPC error other than a share verdict (the connection stays)", ["reason"]
)
BANS = Counter("poolstream_stratum_bans", "IP addresses banned", ["reason"])
STRIKES = Counter(
    "poolstream_stratum_strikes", "Abusive closings counted against an IP (enough of them ban it)", ["reason"]
)
BLOCKS = Counter("poolstream_stratum_blocks_found", "Shares that met the network target", ["algorithm"])
JOBS_SENT = Counter(
    "poolstream_stratum_jobs_sent", "New jobs sent to mining connections (mining.notify broadcasts)", ["algorithm"]
)
JOB_ERRORS = Counter("poolstream_stratum_job_source_errors", "Failed job source calls", ["algorithm"])

LOG_WINDOW_S = 10.0
LOG_FIRST = 5  # lines per reason per window logged one by one

_refused: dict[str, Counter] = {}
_errors: dict[str, Counter] = {}
_strikes: dict[str, Counter] = {}
_window_start = 0.0
_lock = threading.Lock()
_logged: dict[str, int] = {}  # reason -> lines logged in this window
_suppressed: dict[str, int] = {}  # reason -> lines not logged in this window


def _roll(now: float) -> None:
    global _window_start
    if now - _window_start >= LOG_WINDOW_S:
        for r, n in _suppressed.items():
            log.warning("stratum: %d more like that (%s) in the last %.0fs", n, r, LOG_WINDOW_S)
        _suppressed.clear()
        _logged.clear()
        _window_start = now


def flush_log() -> None:
    """Periodic (the gateway's sweep): log the counts of what was not logged once its window is over."""
    with _lock:
        _roll(time.monotonic())


def _throttled(reason: str, level: int, message: str, *args: object) -> None:
    """Log `message` unless LOG_FIRST lines of `reason` were logged in this window (then count it)."""
    with _lock:  # the listener's accept thread logs refusals too
        _roll(time.monotonic())
        n = _logged.get(reason, 0)
        if n < LOG_FIRST:
            _logged[reason] = n + 1
            log.log(level, message, *args)
        else:
            _suppressed[reason] = _suppressed.get(reason, 0) + 1


def refused(reason: str, ip: str = "", message: str = "closed connection from") -> None:
    """A connection refused or closed by a safety rule (limit, ban, timeout, slow client, line too long,
    too many errors): counted, and logged (throttled)."""
    c = _refused.get(reason)
    if c is None:
        c = _refused[reason] = REFUSED.labels(reason)
    c.inc()
    _throttled(reason, logging.INFO, "stratum: %s %s (%s)", message, ip or "-", reason)


def protocol_error(reason: str) -> None:
    """A request answered with a JSON-RPC error (malformed line, unknown method, failed authorize, ...)."""
    c = _errors.get(reason)
    if c is None:
        c = _errors[reason] = PROTOCOL_ERRORS.labels(reason)
    c.inc()


def strike(reason: str) -> None:
    c = _strikes.get(reason)
    if c is None:
        c = _strikes[reason] = STRIKES.labels(reason)
    c.inc()


def banned(reason: str, ip: str, seconds: float, detail: str) -> None:
    """An IP was banned: counted, and logged as a warning (throttled like refusals: an attack from many
    addresses bans hundreds at once)."""
    BANS.labels(reason).inc()
    _throttled(f"ban {reason}", logging.WARNING, "stratum: banning %s for %.0fs (%s): %s", ip, seconds, reason,
               detail)
