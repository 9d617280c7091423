"""What is POSTed: the webhook body of an alert event and the body sent to PUSH_GATEWAY_URL (the device tokens
to notify and the message; a gateway, an FCM/APNs relay, fans it out and answers 2xx once it took the batch)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Device:
    token: str
    platform: str


def push_body(event: str, devices: Sequence[Device], title: str, text: str, data: dict[str, Any]) -> str:
    """`{"event", "devices": [{"token", "platform"}], "notification": {"title", "body"}, "data"}` as JSON."""
    return json.dumps({
        "event": event,
        "devices": [{"token": d.token, "platform": d.platform} for d in sorted(devices, key=lambda d: d.token)],
        "notification": {"title": title, "body": text},
        "data": {"event": event, **data},
    }, separators=(",", ":"), sort_keys=True)


def webhook_body(event: str, alert: dict[str, Any]) -> str:
    """`{"event": "alert.opened" | "alert.cleared", "alert": {...}}` as JSON (the exact bytes signed)."""
    return json.dumps({"event": event, "alert": alert}, separators=(",", ":"), sort_keys=True)
