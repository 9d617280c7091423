"""Live configuration (PUT/GET /api/v1/admin/config): validated, audited, applied where safe, persisted.

Sections and keys (anything else is INVALID_REQUEST naming the key):
- `api`: `maintenance_mode` (bool; `api.maintenance`), `rate_limits` {anonymous, authenticated, premium,
  enterprise} (requests/min, 1..1,000,000; partial updates merge; `RateLimiter.set_limits`).
- `stratum`: `vardiff_target_s` (seconds between one connection's shares, 0.5..600; the gateway's vardiff,
  through `GatewayControl`; stored only when no gateway runs in this process).
- `mining`: `minimum_payout` (coins, > 0) and `pool_fee` (percent, 0..100): stored and audited, NOT applied
  (`applied: false`) until payouts exist (issue 9).
Every change is one `config_changes` row per key (old and new value, actor, applied) and one `audit_log` row;
at start `restore()` applies the newest value of every key again, so changes survive restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from api.errors import InvalidRequest
from api.maintenance import MaintenanceState
from api.services.db import Db
from api.services.gateway_control import GatewayControl
from schemas.clock import Clock

log = logging.getLogger(__name__)
TIERS = ("anonymous", "authenticated", "premium", "enterprise")
MAX_RATE = 1_000_000
CHANGE_COLUMNS = ["ts", "actor", "section", "key", "value", "old_value", "applied"]
AUDIT_COLUMNS = ["ts", "actor", "action", "target", "details", "ip"]


class Limiter(Protocol):
    def set_limits(self, per_minute: Mapping[Any, int]) -> None: ...

    def limits(self) -> dict[str, int]: ...


class ConfigUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of PUT /admin/config (seed 001)."""

    section: str
    settings: dict[str, Any]


class ConfigChange(msgspec.Struct, frozen=True, kw_only=True):
    section: str
    settings: dict[str, Any]  # the new values
    previous: dict[str, Any]  # the values before
    applied: dict[str, bool]  # per key: in effect in this process now
    notes: list[str] = msgspec.field(default_factory=list)


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    anonymous: int
    authenticated: int
    premium: int
    enterprise: int


class ApiSection(msgspec.Struct, frozen=True, kw_only=True):
    maintenance_mode: bool
    rate_limits: RateLimits | None  # None when this app has no rate limiter


class StratumSection(msgspec.Struct, frozen=True, kw_only=True):
    vardiff_target_s: float | None
    gateway: str  # running | stopped | not_configured (no gateway in this process: changes are stored only)


class MiningSection(msgspec.Struct, frozen=True, kw_only=True):
    minimum_payout: float | None  # null until set
    pool_fee: float | None  # percent; null until set
    applied: bool = False  # payouts do not exist yet (issue 9): stored and audited only


class LiveConfigView(msgspec.Struct, frozen=True, kw_only=True):
    api: ApiSection
    stratum: StratumSection
    mining: MiningSection


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _number(low: float, high: float, *, low_open: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if value > high or value < low or (low_open and value == low):
            raise ValueError(f"must be in {'(' if low_open else '['}{low}, {high}]")
        return float(value)

    return check


def _rates(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"must be an object with some of {', '.join(TIERS)}")
    out: dict[str, int] = {}
    for tier, rate in value.items():
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r} (tiers: {', '.join(TIERS)})")
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE:
            raise ValueError(f"{tier} must be an integer in [1, {MAX_RATE}] (requests per minute)")
        out[tier] = rate
    return out


SCHEMA: dict[str, dict[str, Callable[[Any], Any]]] = {
    "api": {"maintenance_mode": _bool, "rate_limits": _rates},
    "stratum": {"vardiff_target_s": _number(0.5, 600)},
    "mining": {"minimum_payout": _number(0, 1e9, low_open=True), "pool_fee": _number(0, 100)},
}


def validate(section: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values, or INVALID_REQUEST with one error per bad key in `details.errors`."""
    keys = SCHEMA.get(section)
    if keys is None:
        raise InvalidRequest(f"unknown config section {section!r}", details={"sections": sorted(SCHEMA)})
    if not settings:
        raise InvalidRequest("`settings` is empty", details={"keys": sorted(keys)})
    checked: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in settings.items():
        check = keys.get(key)
        if check is None:
            errors.append({"key": f"{section}.{key}", "error": f"unknown key (known: {', '.join(sorted(keys))})"})
            continue
        try:
            checked[key] = check(value)
        except ValueError as exc:
            errors.append({"key": f"{section}.{key}", "error": str(exc)})
    if errors:
        raise InvalidRequest(f"invalid config for section {section!r}", details={"errors": errors})
    return checked


@dataclass
class ConfigHooks:
    """Where a change takes effect in this process."""

    maintenance: MaintenanceState
    limiter: Limiter | None = None
    gateway: GatewayControl | None = None


class LiveConfig:
    def __init__(self, db: Db, clock: Clock, hooks: ConfigHooks) -> None:
        self._db = db
        self._clock = clock
        self._hooks = hooks
        self._stored: dict[tuple[str, str], Any] = {}

    def value(self, section: str, key: str) -> Any:
        h = self._hooks
        if (section, key) == ("api", "maintenance_mode"):
            return h.maintenance.on
        if (section, key) == ("api", "rate_limits") and h.limiter is not None:
            return {t: v for t, v in h.limiter.limits().items() if t in TIERS}
        if (section, key) == ("stratum", "vardiff_target_s") and h.gateway is not None:
            return h.gateway.vardiff_target_s
        return self._stored.get((section, key))

    def current(self) -> LiveConfigView:
        rates = self.value("api", "rate_limits")
        gateway = self._hooks.gateway.status().state if self._hooks.gateway is not None else "not_configured"
        return LiveConfigView(
            api=ApiSection(maintenance_mode=bool(self.value("api", "maintenance_mode")),
                           rate_limits=RateLimits(**rates) if rates and set(rates) == set(TIERS) else None),
            stratum=StratumSection(vardiff_target_s=self.value("stratum", "vardiff_target_s"), gateway=gateway),
            mining=MiningSection(minimum_payout=self.value("mining", "minimum_payout"),
                                 pool_fee=self.value("mining", "pool_fee")),
        )

    def _apply(self, section: str, key: str, value: Any) -> tuple[Any, bool]:
        """Put `value` in effect where that is safe; returns what it is now and whether it is in effect."""
        h = self._hooks
        if (section, key) == ("api", "rate_limits"):
            merged = {**(self.value(section, key) or {}), **value}
            if h.limiter is not None:
                h.limiter.set_limits(merged)
            self._stored[(section, key)] = merged
            return merged, h.limiter is not None
        self._stored[(section, key)] = value
        if (section, key) == ("api", "maintenance_mode"):
            h.maintenance.on = value
            return value, True
        if (section, key) == ("stratum", "vardiff_target_s") and h.gateway is not None:
            h.gateway.set_vardiff_target(value)
            return value, h.gateway.running
        return value, False

    async def update(self, change: ConfigUpdate, actor: str, ip: str) -> ConfigChange:
        checked = validate(change.section, change.settings)
        now = self._clock.now()
        previous = {key: self.value(change.section, key) for key in checked}
        new: dict[str, Any] = {}
        applied: dict[str, bool] = {}
        for key, value in checked.items():
            new[key], applied[key] = self._apply(change.section, key, value)
        rows = [(now, actor, change.section, key, _json(new[key]), _json(previous[key]), int(applied[key]))
                for key in checked]
        await self._db.insert("config_changes", rows, CHANGE_COLUMNS)
        details = {"changes": {k: {"old": previous[k], "new": new[k]} for k in checked}, "applied": applied}
        await self._db.insert("audit_log", [(now, actor, "config.update", change.section, _json(details), ip)],
                              AUDIT_COLUMNS)
        return ConfigChange(section=change.section, settings=new, previous=previous, applied=applied,
                            notes=_notes(change.section, applied))

    async def restore(self) -> int:
        """At start: apply the newest stored value of every key again; returns how many were applied."""
        rows = await self._db.rows(
            "SELECT section, key, argMax(value, ts) FROM config_changes GROUP BY section, key", {})
        count = 0
        for section, key, raw in rows:
            try:
                checked = validate(str(section), {str(key): msgspec.json.decode(raw)})
            except (InvalidRequest, msgspec.DecodeError) as exc:
                log.warning("stored config %s.%s ignored (no longer valid): %s", section, key, exc)
                continue
            for k, v in checked.items():
                self._apply(str(section), k, v)
                count += 1
        if count:
            log.info("live config: %d stored setting(s) applied again", count)
        return count


def _notes(section: str, applied: Mapping[str, bool]) -> list[str]:
    if section == "mining":
        return ["stored and audited; not applied: payouts do not exist yet (issue 9)"]
    if not all(applied.values()):
        return ["stored; applied when the component runs in this process (no Stratum gateway or rate limiter "
                "here now)"]
    return []


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
