"""The Mobile API's state: registered devices (`mobile_devices`) and what each wants pushed
(`notification_preferences`); both written only here, read by the dispatcher (`jobs.alert_notify`).

A device belongs to the API user that registered it (registering the same token again moves it to the new
registrant and address); preferences are per device, and a user only sees and changes their own devices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from api.dto.alerts import MobileDevice, MobileRegister, NotificationPreferencesUpdate
from api.errors import InvalidRequest, NotFound
from api.services.db import Db
from api.services.registry import Actor
from schemas.alerts import utc
from schemas.clock import Clock
from schemas.identity import valid_address
from schemas.notifications import PREFERENCE_FIELDS, Preferences, preferences_of

_DEVICE_COLUMNS = ["device_token", "platform", "miner_address", "owner", "active", "registered_at", "updated_at"]
_PREF_COLUMNS = ["device_token", *PREFERENCE_FIELDS, "updated_at"]
_MINE = (
    "SELECT d.device_token, d.platform, d.miner_address, d.registered_at, p.device_token != '', "
    + ", ".join(f"p.{f}" for f in PREFERENCE_FIELDS)
    + ", p.updated_at FROM mobile_devices AS d FINAL "
    "LEFT JOIN notification_preferences AS p FINAL ON p.device_token = d.device_token "
    "WHERE d.active = 1 AND d.owner = {owner:String} "
    "AND ({token:String} = '' OR d.device_token = {token:String}) "
    "AND ({address:String} = '' OR d.miner_address = {address:String}) "
    "ORDER BY d.registered_at, d.device_token LIMIT 1000 SETTINGS join_use_nulls = 0"
)


@dataclasses.dataclass(frozen=True)
class _Device:
    token: str
    platform: str
    address: str
    registered_at: dt.datetime
    prefs: Preferences
    prefs_version: dt.datetime | None


class MobileService:
    def __init__(self, db: Db, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def register(self, actor: Actor, body: MobileRegister) -> MobileDevice:
        if not valid_address(body.miner_address):
            raise InvalidRequest("miner_address is not a valid address", details={"field": "miner_address"})
        now = self._clock.now()
        old = await self._db.rows("SELECT max(updated_at) FROM mobile_devices WHERE device_token = {t:String}",
                                  {"t": body.device_token})
        version = _after(old[0][0] if old and old[0][0] is not None else None, now)
        await self._db.insert("mobile_devices", [[body.device_token, body.platform, body.miner_address,
                                                  actor.subject, 1, now, version]], _DEVICE_COLUMNS)
        found = await self._mine(actor, body.device_token, None)
        return _shown(found[0])

    async def devices(self, actor: Actor) -> list[MobileDevice]:
        return [_shown(d) for d in await self._mine(actor, None, None)]

    async def set_preferences(self, actor: Actor, body: NotificationPreferencesUpdate) -> list[MobileDevice]:
        found = await self._mine(actor, body.device_token, body.miner_address)
        if not found:
            raise NotFound("no registered device of yours matches (POST /mobile/register first)",
                           details={"device_token": bool(body.device_token), "miner_address": body.miner_address})
        changes = {f: getattr(body, f) for f in PREFERENCE_FIELDS if getattr(body, f) is not None}
        now = self._clock.now()
        updated = [dataclasses.replace(d, prefs=dataclasses.replace(d.prefs, **changes),
                                       prefs_version=_after(d.prefs_version, now)) for d in found]
        await self._db.insert("notification_preferences",
                              [[d.token, *[_flag(getattr(d.prefs, f)) for f in PREFERENCE_FIELDS], d.prefs_version]
                               for d in updated], _PREF_COLUMNS)
        return [_shown(d) for d in updated]

    async def _mine(self, actor: Actor, token: str | None, address: str | None) -> list[_Device]:
        rows = await self._db.rows(_MINE, {"owner": actor.subject, "token": token or "", "address": address or ""})
        return [_device(r) for r in rows]


def _device(r: Sequence[Any]) -> _Device:
    token, platform, address, registered, has_prefs, *rest = r
    prefs, version = rest[:-1], rest[-1]
    return _Device(str(token), str(platform), str(address), utc(registered),
                   preferences_of(prefs) if has_prefs else Preferences(), utc(version) if has_prefs else None)


def _after(previous: Any, now: dt.datetime) -> dt.datetime:
    return now if previous is None else max(now, utc(previous) + dt.timedelta(milliseconds=1))


def _flag(value: bool | float) -> float | int:
    return value if isinstance(value, float) else int(value)


def _shown(d: _Device) -> MobileDevice:
    return MobileDevice(device_token=d.token, platform=d.platform, miner_address=d.address,
                        registered_at=d.registered_at, **dataclasses.asdict(d.prefs))
