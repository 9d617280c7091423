"""The idempotency key of an INSERT: the same Kafka offsets always give the same token."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def dedup_token(table: str, ranges: Mapping[tuple[str, int], tuple[int, int]]) -> str:
    """A deterministic token for an INSERT covering these (topic, partition) -> (first, last) offset ranges."""
    spec = ";".join(f"{t}/{p}/{a}-{b}" for (t, p), (a, b) in sorted(ranges.items()))
    return f"{table}:" + hashlib.sha256(spec.encode()).hexdigest()
