"""What a mobile device wants pushed (seed 000/001 `PUT /mobile/notifications` names, plus the hardware
kinds): the contract of table `notification_preferences`, the API and the dispatcher; defaults and matching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from schemas.alerts import AlertKind

BLOCK_FOUND = "block.found"
PAYMENT_SENT = "payment.sent"


@dataclass(frozen=True)
class Preferences:
    worker_offline: bool = True
    payment_sent: bool = True
    block_found: bool = False
    hashrate_drop: bool = True
    threshold_percentage: float = 20.0  # a hashrate drop is pushed only when at least this % (seed example 20)
    over_temperature: bool = True
    fan_failure: bool = True
    unprofitable: bool = True


PREFERENCE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Preferences))


def preferences_of(values: Sequence[Any]) -> Preferences:
    """From a row in PREFERENCE_FIELDS order (UInt8 flags, the threshold a number)."""
    named = dict(zip(PREFERENCE_FIELDS, values, strict=True))
    threshold = float(named.pop("threshold_percentage"))
    return Preferences(threshold_percentage=threshold, **{k: bool(v) for k, v in named.items()})


def wants_alert(p: Preferences, kind: str, value: float) -> bool:
    """Whether a device with `p` gets the push of an opened alert (`value` as in schemas.alerts)."""
    if kind == AlertKind.HASHRATE_DROP:
        return p.hashrate_drop and value >= p.threshold_percentage
    return {AlertKind.OFFLINE.value: p.worker_offline, AlertKind.OVER_TEMPERATURE.value: p.over_temperature,
            AlertKind.FAN_FAILURE.value: p.fan_failure, AlertKind.UNPROFITABLE.value: p.unprofitable}.get(kind, False)


def wants_event(p: Preferences, event: str) -> bool:
    """Whether a device with `p` gets a pool event (block found, payment sent)."""
    return (event == BLOCK_FOUND and p.block_found) or (event == PAYMENT_SENT and p.payment_sent)
