"""Security counters of this API process: failed authentications, forbidden requests, rate-limit hits and
malformed requests. They feed `/security/audit`, `/security/threats` and `/metrics`."""

from __future__ import annotations

import threading
import time
from collections import Counter

from prometheus_client import Counter as PromCounter

KINDS = ("unauthorized", "forbidden", "rate_limited", "malformed")

_METRIC = PromCounter(
    "poolstream_api_security_events", "API requests refused for security reasons, by kind", ["kind"]
)


class SecurityEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._last: dict[str, float] = {}

    def record(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1
            self._last[kind] = time.time()
        _METRIC.labels(kind).inc()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {k: self._counts.get(k, 0) for k in KINDS}

    def last_seen(self) -> dict[str, float]:
        with self._lock:
            return dict(self._last)


EVENTS = SecurityEvents()
