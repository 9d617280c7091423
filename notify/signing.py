"""The webhook signature: `X-Poolstream-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
with `X-Poolstream-Timestamp: <unix seconds>`. A receiver recomputes the HMAC over the raw body it got and
rejects old timestamps (replays)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Poolstream-Signature"
TIMESTAMP_HEADER = "X-Poolstream-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one POST (no signature header without a secret)."""
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp)}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return headers


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """A receiver's check (constant time)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)
