"""Commands for a worker's rig agent (seed 001 `POST /workers/{id}/commands`): validated, queued, polled by
the agent with its worker token, acknowledged.

Life of a command: `queued` -> `delivered` (handed out by `pending`) -> `acked` | `failed` (the agent's ack).
Delivery is at least once: a command delivered but not acknowledged within `REDELIVER_AFTER_S` is handed out
again, so an agent that crashed after polling still gets it; agents acknowledge by command id (idempotent).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.dto.registry import Command, CommandAck, CommandRequest
from api.errors import InvalidRequest, NotFound
from api.services.registry import Actor, Registry, from_json, to_json, utc, utc_or_none
from api.services.windows import to_ms
from api.services.workers import WorkerRow, WorkerService

REDELIVER_AFTER_S = 60
MAX_PENDING = 100


@dataclass(frozen=True)
class Param:
    """One parameter of a command: a number in [low, high] (an integer if `integer`)."""

    low: float
    high: float
    integer: bool = False
    required: bool = False


#: The commands a rig agent understands and their parameters. `update_config` takes any non-empty object
#: (the configuration keys to set, seed 001: `{"intensity": 20, "threads": 4}`).
COMMANDS: dict[str, dict[str, Param]] = {
    "restart": {"delay_s": Param(0, 3600, integer=True)},
    "stop": {},
    "start": {},
    "set_difficulty": {"difficulty": Param(1e-9, 1e15, required=True)},
    "set_power_limit": {"watts": Param(1, 100_000), "percent": Param(1, 100)},
    "update_config": {},
}
ALLOWED = sorted(COMMANDS)


def validate(command: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters if `command` is known and they fit it, else INVALID_REQUEST naming what is wrong."""
    if command not in COMMANDS:
        raise InvalidRequest(f"unknown command {command[:64]!r}",
                             details={"field": "command", "allowed": ALLOWED})
    if command == "update_config":
        if not parameters:
            raise InvalidRequest("update_config needs the configuration keys to set in `parameters`",
                                 details={"field": "parameters", "command": command})
        to_json(parameters, "parameters")
        return parameters
    spec = COMMANDS[command]
    unknown = sorted(set(parameters) - set(spec))
    if unknown:
        raise InvalidRequest(f"{command} takes no parameter {', '.join(unknown)}",
                             details={"field": "parameters", "command": command, "allowed": sorted(spec)})
    for name, param in spec.items():
        if name not in parameters:
            if param.required:
                raise InvalidRequest(f"{command} needs `{name}`", details={"field": f"parameters.{name}"})
            continue
        _check(command, name, param, parameters[name])
    if command == "set_power_limit" and len(parameters) != 1:
        raise InvalidRequest("set_power_limit needs exactly one of `watts` or `percent`",
                             details={"field": "parameters", "command": command, "allowed": sorted(spec)})
    return parameters


def _check(command: str, name: str, param: Param, value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if (not number or not math.isfinite(value) or not param.low <= value <= param.high
            or (param.integer and not isinstance(value, int))):
        kind = "an integer" if param.integer else "a number"
        raise InvalidRequest(f"{command}: `{name}` must be {kind} in {param.low:g}..{param.high:g}",
                             details={"field": f"parameters.{name}", "low": param.low, "high": param.high})


@dataclass(frozen=True)
class CommandRow:
    id: int
    worker_id: int
    command: str
    parameters: str
    status: str
    result: str
    optimization_id: int
    requested_by: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    acked_at: dt.datetime | None
    updated_at: dt.datetime


COLUMNS = [f.name for f in dataclasses.fields(CommandRow)]
SELECT = f"SELECT {', '.join(COLUMNS)} FROM worker_commands FINAL"


def command_row(r: Sequence[Any]) -> CommandRow:
    cid, wid, command, parameters, status, result, opt, by, created, delivered, acked, updated = r
    return CommandRow(int(cid), int(wid), str(command), str(parameters), str(status), str(result), int(opt),
                      str(by), utc(created), utc_or_none(delivered), utc_or_none(acked), utc(updated))


def shown(row: CommandRow) -> Command:
    return Command(id=row.id, worker_id=row.worker_id, command=row.command,
                   parameters=from_json(row.parameters, {}), status=row.status, result=from_json(row.result, None),
                   optimization_id=f"opt_{row.optimization_id}" if row.optimization_id else None,
                   created_at=row.created_at, delivered_at=row.delivered_at, acked_at=row.acked_at)


class CommandService:
    def __init__(self, registry: Registry, workers: WorkerService) -> None:
        self._reg = registry
        self._workers = workers

    async def queue(self, actor: Actor, worker_id: int, body: CommandRequest) -> Command:
        parameters = validate(body.command, body.parameters)
        await self._workers.owned(actor, worker_id)
        async with self._reg.lock:
            row = await self.new_rows(actor, [(worker_id, body.command, parameters)], optimization_id=0)
        await self._reg.audit(actor, "worker.command", f"worker:{worker_id}",
                              {"command_id": row[0].id, "command": body.command, "parameters": parameters})
        return shown(row[0])

    async def new_rows(self, actor: Actor, commands: Sequence[tuple[int, str, dict[str, Any]]], *,
                       optimization_id: int) -> list[CommandRow]:
        """Insert queued commands (worker id, command, validated parameters). Call with the lock held."""
        first = await self._reg.next_id("worker_commands")
        now = self._reg.now()
        rows = [CommandRow(first + i, worker_id, command, to_json(parameters, "parameters"), "queued", "",
                           optimization_id, actor.subject, now, None, None, now)
                for i, (worker_id, command, parameters) in enumerate(commands)]
        await self._reg.insert("worker_commands", [dataclasses.astuple(r) for r in rows], COLUMNS)
        return rows

    async def history(self, actor: Actor, worker_id: int, limit: int) -> list[Command]:
        await self._workers.owned(actor, worker_id)
        rows = await self._reg.db.rows(f"{SELECT} WHERE worker_id = {{w:UInt64}} ORDER BY id DESC LIMIT {{n:UInt32}}",
                                       {"w": worker_id, "n": limit})
        return [shown(command_row(r)) for r in rows]

    async def pending(self, agent: Actor, worker: WorkerRow) -> list[Command]:
        """Queued commands (and delivered ones not acknowledged in time), oldest first; marks them delivered."""
        async with self._reg.lock:
            now = self._reg.now()
            rows = await self._reg.db.rows(
                f"{SELECT} WHERE worker_id = {{w:UInt64}} AND (status = 'queued' OR (status = 'delivered' AND "
                "delivered_at < fromUnixTimestamp64Milli({before_ms:Int64}, 'UTC'))) ORDER BY id LIMIT {n:UInt32}",
                {"w": worker.id, "before_ms": to_ms(now) - REDELIVER_AFTER_S * 1000, "n": MAX_PENDING})
            found = [command_row(r) for r in rows]
            delivered = [dataclasses.replace(r, status="delivered", delivered_at=now,
                                             updated_at=self._reg.version_after(r.updated_at)) for r in found]
            if delivered:
                await self._reg.insert("worker_commands", [dataclasses.astuple(r) for r in delivered], COLUMNS)
        return [shown(r) for r in delivered]

    async def ack(self, agent: Actor, worker: WorkerRow, command_id: int, body: CommandAck) -> Command:
        status = "acked" if body.status == "done" else "failed"
        async with self._reg.lock:
            rows = await self._reg.db.rows(f"{SELECT} WHERE worker_id = {{w:UInt64}} AND id = {{id:UInt64}}",
                                           {"w": worker.id, "id": command_id})
            if not rows:
                raise NotFound(f"no command {command_id} for worker {worker.id}",
                               details={"command_id": command_id, "worker_id": worker.id})
            row = command_row(rows[0])
            if row.status in ("acked", "failed"):
                if row.status == status:
                    return shown(row)  # a retried ack
                raise InvalidRequest(f"command {command_id} was already answered: {row.status}",
                                     details={"command_id": command_id, "status": row.status})
            now = self._reg.now()
            done = dataclasses.replace(row, status=status, result=to_json(body.result, "result"), acked_at=now,
                                       delivered_at=row.delivered_at or now,
                                       updated_at=self._reg.version_after(row.updated_at))
            await self._reg.insert("worker_commands", [dataclasses.astuple(done)], COLUMNS)
        await self._reg.audit(agent, "worker.command.ack", f"worker:{worker.id}",
                              {"command_id": command_id, "status": status})
        return shown(done)
