"""Registered workers (seed 004 fields, seed 001 registration): a name under a participant's address, its
Stratum URL and a secret token for its rig agent (shown once; `workers.token_hash` keeps its sha256).

A registered worker is the shares of `address.worker_name`: reads add its 10-minute hashrate and status
from `shares_1m`, its last share from `shares_1d` and its GPU utilization from `telemetry`. Delete is soft
(`deleted = 1`), so the seed-shape reads (`SELECT worker_name FROM workers FINAL WHERE address = … AND
deleted = 0`) and the token check see it go at once. Ownership as for participants: others' are NOT_FOUND.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.dto.registry import Deleted, Worker, WorkerCreate, WorkerRegistered, WorkerUpdate
from api.envelope import Paging
from api.errors import InvalidRequest, NotFound
from api.services.participants import ParticipantRow, ParticipantService
from api.services.registry import Actor, Registry, from_json, to_json, utc
from api.services.worker_figures import Figures, live_figures
from api.settings import ApiSettings
from schemas.algorithms import Algorithm
from schemas.hardware import HARDWARE_CLASSES
from schemas.identity import COINS_BY_ALGORITHM, WORKER_MAX_LEN, address_coin, valid_worker

TOKEN_PREFIX = "psw_"
_TOKEN = re.compile(r"psw_([0-9]{1,19})_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class StratumEndpoints:
    """Where rigs connect: the public host and the port of each algorithm served (wire name -> port)."""

    host: str
    ports: Mapping[str, int]

    def url(self, algorithm: str) -> str:
        return f"stratum+tcp://{self.host}:{self.ports[algorithm]}"


def stratum_endpoints(settings: ApiSettings) -> StratumEndpoints:
    """From the API settings: the public host (API_STRATUM_PUBLIC_HOST, else STRATUM_HOST) and the ports the
    runtime copied from the gateway's settings."""
    return StratumEndpoints(host=settings.stratum_public_host or settings.stratum_host,
                            ports={p.algorithm: p.port for p in settings.stratum_ports})


@dataclass(frozen=True)
class WorkerRow:
    id: int
    participant_id: int
    address: str
    worker_name: str
    instance_number: int
    host: str
    stats_port: int
    price_coefficient: float
    hardware_type: str
    algorithm: str
    currency: str
    config: str
    token_hash: str
    owner: str
    deleted: bool
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


COLUMNS = [f.name for f in dataclasses.fields(WorkerRow)]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM workers FINAL"
_FILTER = (
    "deleted = 0 AND ({admin:UInt8} = 1 OR owner = {owner:String}) "
    "AND ({pid:UInt64} = 0 OR participant_id = {pid:UInt64}) "
    "AND ({active:Int8} = -1 OR is_active = {active:Int8})"
)


def _row(r: Sequence[Any]) -> WorkerRow:
    values = list(r)
    for i in (0, 1, 4, 6):
        values[i] = int(values[i])
    values[7] = float(values[7])
    values[14], values[15] = bool(values[14]), bool(values[15])
    values[16], values[17] = utc(values[16]), utc(values[17])
    return WorkerRow(*values)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_worker_id(token: str) -> int | None:
    """The worker id a well-formed worker token names (None for anything else)."""
    found = _TOKEN.fullmatch(token)
    return int(found.group(1)) if found else None


class WorkerService:
    def __init__(self, registry: Registry, participants: ParticipantService, stratum: StratumEndpoints) -> None:
        self._reg = registry
        self._participants = participants
        self._stratum = stratum

    async def create(self, actor: Actor, body: WorkerCreate) -> WorkerRegistered:
        owner = await self._participant_for(actor, body)
        name = _name_of(body.name, body.worker_name)
        if name is None:
            raise InvalidRequest("name (or worker_name) is required", details={"field": "name"})
        algorithm = self._algorithm(body.algorithm, owner.ton_wallet_address)
        currency = _currency(body.currency, algorithm, owner.ton_wallet_address)
        config = to_json(body.config or {}, "config")
        async with self._reg.lock:
            if owner.id:
                await self._unique(owner.ton_wallet_address, name, exclude=0)
            worker_id = await self._reg.next_id("workers")
            token = f"{TOKEN_PREFIX}{worker_id}_{secrets.token_urlsafe(32)}"
            now = self._reg.now()
            row = WorkerRow(worker_id, owner.id, owner.ton_wallet_address, name, body.instance_number, body.host,
                            body.stats_port, body.price_coefficient, _hardware(body.hardware_type), algorithm,
                            currency, config, token_hash(token), actor.subject, False, body.is_active, now, now)
            await self._reg.insert("workers", [_values(row)], COLUMNS)
        await self._reg.audit(actor, "worker.create", f"worker:{worker_id}",
                              {"participant_id": owner.id, "worker_name": name, "algorithm": algorithm})
        return WorkerRegistered(id=worker_id, name=name, worker_name=name, token=token,
                                stratum_url=self._stratum.url(algorithm), stratum_user=_user(row),
                                participant_id=owner.id, address=row.address, algorithm=algorithm, currency=currency)

    async def page(self, actor: Actor, paging: Paging, participant_id: int | None,
                   is_active: bool | None) -> tuple[list[Worker], int]:
        params = {"admin": int(actor.admin), "owner": actor.subject, "pid": participant_id or 0,
                  "active": -1 if is_active is None else int(is_active),
                  "limit": paging.limit, "offset": paging.offset}
        rows = await self._reg.db.rows(
            f"{_SELECT} WHERE {_FILTER} ORDER BY id LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}", params)
        total = await self._reg.db.rows(f"SELECT count() FROM workers FINAL WHERE {_FILTER}", params)
        return await self._shown([_row(r) for r in rows]), int(total[0][0])

    async def get(self, actor: Actor, worker_id: int) -> Worker:
        return (await self._shown([await self.owned(actor, worker_id)]))[0]

    async def update(self, actor: Actor, worker_id: int, body: WorkerUpdate) -> Worker:
        async with self._reg.lock:
            row = await self.owned(actor, worker_id)
            changes: dict[str, Any] = {}
            name = _name_of(body.name, body.worker_name)
            if name is not None and name != row.worker_name:
                await self._unique(row.address, name, exclude=row.id)
                changes["worker_name"] = name
            if body.participant_id is not None and body.participant_id != row.participant_id:
                linked = await self._participants.owned(actor, body.participant_id)
                await self._unique(linked.ton_wallet_address, changes.get("worker_name", row.worker_name),
                                   exclude=row.id)
                changes.update(participant_id=linked.id, address=linked.ton_wallet_address)
            for field in ("instance_number", "host", "stats_port", "price_coefficient", "is_active"):
                value = getattr(body, field)
                if value is not None:
                    changes[field] = value
            if body.hardware_type is not None:
                changes["hardware_type"] = _hardware(body.hardware_type)
            if body.config is not None:
                changes["config"] = to_json(body.config, "config")
            updated = dataclasses.replace(row, **changes, updated_at=self._reg.version_after(row.updated_at))
            await self._reg.insert("workers", [_values(updated)], COLUMNS)
        await self._reg.audit(actor, "worker.update", f"worker:{worker_id}",
                              {k: from_json(v, {}) if k == "config" else v for k, v in changes.items()})
        return (await self._shown([updated]))[0]

    async def delete(self, actor: Actor, worker_id: int) -> Deleted:
        async with self._reg.lock:
            row = await self.owned(actor, worker_id)
            gone = dataclasses.replace(row, deleted=True, is_active=False,
                                       updated_at=self._reg.version_after(row.updated_at))
            await self._reg.insert("workers", [_values(gone)], COLUMNS)
        await self._reg.audit(actor, "worker.delete", f"worker:{worker_id}", {"worker_name": row.worker_name})
        return Deleted(id=worker_id, deleted=True)

    async def owned(self, actor: Actor, worker_id: int) -> WorkerRow:
        """The worker if it exists, is not deleted and `actor` may see it, else NotFound."""
        row = await self.row(worker_id)
        if row is None or not actor.owns(row.owner):
            raise NotFound(f"no worker {worker_id}", details={"worker_id": worker_id})
        return row

    async def row(self, worker_id: int) -> WorkerRow | None:
        rows = await self._reg.db.rows(f"{_SELECT} WHERE id = {{id:UInt64}} AND deleted = 0", {"id": worker_id})
        return _row(rows[0]) if rows else None

    async def matching(self, actor: Actor, hardware_type: str | None, algorithm: str | None) -> list[WorkerRow]:
        """The caller's own active workers with this hardware type and algorithm (None: any)."""
        rows = await self._reg.db.rows(
            f"{_SELECT} WHERE deleted = 0 AND is_active = 1 AND owner = {{owner:String}} ORDER BY id LIMIT 10000",
            {"owner": actor.subject})
        found = [_row(r) for r in rows]
        if hardware_type is not None:
            found = [w for w in found if w.hardware_type == _hardware(hardware_type)]
        if algorithm is not None:
            found = [w for w in found if w.algorithm == self._algorithm(algorithm, w.address)]
        return found

    async def verify_token(self, token: str) -> WorkerRow | None:
        """The (not deleted) worker a worker token belongs to; None for an unknown or wrong token."""
        worker_id = token_worker_id(token)
        row = await self.row(worker_id) if worker_id is not None else None
        if row is None or not hmac.compare_digest(row.token_hash, token_hash(token)):
            return None
        return row

    def served(self) -> list[str]:
        return sorted(self._stratum.ports)

    async def _participant_for(self, actor: Actor, body: WorkerCreate) -> ParticipantRow:
        if body.participant_id is not None:
            found = await self._participants.owned(actor, body.participant_id)
            if body.address is not None and body.address != found.ton_wallet_address:
                raise InvalidRequest("address is not the participant's wallet address", details={"field": "address"})
            return found
        mine = await self._participants.owned_by(actor)
        if body.address is not None:
            mine = [p for p in mine if p.ton_wallet_address == body.address]
        if not mine and body.address is None:
            # seed 001's body names no participant: the worker is registered unlinked (no address yet);
            # `PATCH {"participant_id": N}` links it to the shares of `address.worker_name` later
            return _UNLINKED
        if len(mine) != 1:
            raise InvalidRequest(
                "say which participant the worker belongs to: participant_id (POST /api/v1/participants first)",
                details={"field": "participant_id", "your_participants": [p.id for p in mine][:20]})
        return mine[0]

    def _algorithm(self, given: str | None, address: str) -> str:
        """The algorithm's wire name: the one given (any case, seed names like `SHA256d`), else the one whose
        coin the address belongs to; it must be one the pool serves."""
        served = self.served()
        if given is None:
            coins = [a.wire for a in Algorithm if a.wire in served and address_coin(address, a) is not None]
            if coins or served:
                return (coins or served)[0]
            raise InvalidRequest("the pool serves no algorithm yet (no Stratum port)", details={"served": served})
        try:
            wire = Algorithm.parse(given).wire
        except ValueError:
            wire = ""
        if wire not in served:
            raise InvalidRequest(f"algorithm {given[:32]!r} is not served by this pool",
                                 details={"field": "algorithm", "served": served})
        return wire

    async def _unique(self, address: str, name: str, *, exclude: int) -> None:
        rows = await self._reg.db.rows(
            "SELECT id FROM workers FINAL WHERE address = {a:String} AND worker_name = {w:String} AND deleted = 0 "
            "AND id != {x:UInt64} LIMIT 1", {"a": address, "w": name, "x": exclude})
        if rows:
            raise InvalidRequest(f"worker {name!r} is already registered for this address",
                                 details={"field": "worker_name", "worker_id": int(rows[0][0])})

    async def _shown(self, rows: list[WorkerRow]) -> list[Worker]:
        figures = await live_figures(self._reg.db, self._reg.now(), [(r.address, r.worker_name) for r in rows])
        return [self._worker(r, figures.get((r.address, r.worker_name))) for r in rows]

    def _worker(self, row: WorkerRow, live: Figures | None) -> Worker:
        live = live or Figures()
        return Worker(
            id=row.id, participant_id=row.participant_id, worker_name=row.worker_name, name=row.worker_name,
            address=row.address, stratum_user=_user(row),
            stratum_url=self._stratum.url(row.algorithm) if row.algorithm in self._stratum.ports else "",
            instance_number=row.instance_number, host=row.host, stats_port=row.stats_port,
            price_coefficient=row.price_coefficient, hardware_type=row.hardware_type, algorithm=row.algorithm,
            currency=row.currency, config=from_json(row.config, {}), is_active=row.is_active, registered=True,
            status="online" if live.online else "offline",
            latest_status="healthy" if live.online else ("offline" if live.last_share else "unknown"),
            hashrate=live.hashrates.get(row.algorithm, 0.0), last_share=live.last_share,
            latest_gpu_utilization=live.gpu_utilization, latest_revenue_ton=0,
            created_at=row.created_at, updated_at=row.updated_at,
        )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The participant of a worker registered without one (seed 001): id 0, no address.
_UNLINKED = ParticipantRow(0, "", None, "", "", "", True, _EPOCH, _EPOCH)


def _name_of(name: str | None, worker_name: str | None) -> str | None:
    if name is not None and worker_name is not None and name != worker_name:
        raise InvalidRequest("name and worker_name differ; send one", details={"field": "worker_name"})
    chosen = worker_name if worker_name is not None else name
    if chosen is not None and (not chosen or not valid_worker(chosen)):
        raise InvalidRequest(f"worker name must be 1-{WORKER_MAX_LEN} characters of A-Z a-z 0-9 _ - .",
                             details={"field": "worker_name"})
    return chosen


def _hardware(given: str) -> str:
    value = given.strip().lower()
    if value and value not in HARDWARE_CLASSES:
        raise InvalidRequest(f"hardware_type must be one of {', '.join(HARDWARE_CLASSES)} (any case)",
                             details={"field": "hardware_type", "allowed": list(HARDWARE_CLASSES)})
    return value


def _currency(given: str | None, algorithm: str, address: str) -> str:
    coins = COINS_BY_ALGORITHM.get(Algorithm.parse(algorithm), ())
    if given is None:
        return address_coin(address, Algorithm.parse(algorithm)) or (coins[0] if coins else "")
    if given.upper() not in coins:
        raise InvalidRequest(f"currency {given[:16]!r} is not mined with {algorithm}",
                             details={"field": "currency", "allowed": list(coins)})
    return given.upper()


def _user(row: WorkerRow) -> str:
    return f"{row.address}.{row.worker_name}"


def _values(row: WorkerRow) -> tuple[Any, ...]:
    values = dataclasses.astuple(row)
    return (*values[:14], int(row.deleted), int(row.is_active), *values[16:])
