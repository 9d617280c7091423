"""Optimization batches (seed 001/000 `POST /optimization/start`, `GET /optimization/{id}/status`): one
`set_power_limit` and one `update_config` command for each of the caller's matching active workers; the
batch's status is computed from its commands' acknowledgements.

Status: `running` while a command is unanswered, then `completed` (every command acked) or `failed` (one
failed). Progress is the % of commands answered. `hashrate_improvement` compares the workers' 10-minute
hashrate before the start with the last 10 minutes; `power_efficiency_gain` needs power readings per
optimization window and is 0.0 until telemetry is tied to batches.
"""

from __future__ import annotations

import json
from typing import Any

from api.dto.registry import OptimizationResults, OptimizationStart, OptimizationStarted, OptimizationStatus
from api.errors import InvalidRequest, NotFound
from api.services.commands import SELECT, CommandService, command_row
from api.services.hashrate import rates, window_rows
from api.services.registry import Actor, Registry, utc
from api.services.windows import TEN_MINUTES, to_ms
from api.services.workers import WorkerService

#: Power limit (% of the rig's default) per level; safety mode never goes below SAFE_POWER_PERCENT.
POWER_PERCENT = {"conservative": 90, "balanced": 80, "aggressive": 70}
SAFE_POWER_PERCENT = 80
DURATION_S = {"conservative": 180, "balanced": 300, "aggressive": 420}
_ID_PREFIX = "opt_"


def parse_id(text: str) -> int:
    """`opt_12` or `12` -> 12; anything else INVALID_REQUEST."""
    digits = text[len(_ID_PREFIX):] if text.startswith(_ID_PREFIX) else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise InvalidRequest("optimization id must look like opt_123", details={"id": text[:40]})
    return int(digits)


class OptimizationService:
    def __init__(self, registry: Registry, workers: WorkerService, commands: CommandService) -> None:
        self._reg = registry
        self._workers = workers
        self._commands = commands

    async def start(self, actor: Actor, body: OptimizationStart) -> OptimizationStarted:
        matching = await self._workers.matching(actor, body.hardware_type, body.algorithm)
        if not matching:
            raise InvalidRequest("none of your active workers matches this hardware_type and algorithm",
                                 details={"hardware_type": body.hardware_type, "algorithm": body.algorithm})
        level = body.optimization_level
        percent = POWER_PERCENT[level]
        if body.safety_mode:
            percent = max(percent, SAFE_POWER_PERCENT)
        config = {"optimization_level": level, "safety_mode": body.safety_mode}
        planned: list[tuple[int, str, dict[str, Any]]] = []
        for worker in matching:
            planned.append((worker.id, "set_power_limit", {"percent": percent}))
            planned.append((worker.id, "update_config", {**config, "profile": f"{worker.hardware_type or 'any'}-{level}"}))
        request = json.dumps({"hardware_type": body.hardware_type, "algorithm": body.algorithm,
                              "optimization_level": level, "safety_mode": body.safety_mode}, sort_keys=True)
        async with self._reg.lock:
            opt_id = await self._reg.next_id("optimizations")
            await self._reg.insert("optimizations", [(opt_id, request, len(matching), actor.subject, self._reg.now())],
                                   ["id", "request", "worker_count", "owner", "created_at"])
            rows = await self._commands.new_rows(actor, planned, optimization_id=opt_id)
        await self._reg.audit(actor, "optimization.start", f"optimization:{opt_id}",
                              {"workers": [w.id for w in matching], "optimization_level": level,
                               "safety_mode": body.safety_mode})
        return OptimizationStarted(optimization_id=f"{_ID_PREFIX}{opt_id}", status="running",
                                   estimated_duration=DURATION_S[level], workers=len(matching), commands=len(rows))

    async def status(self, actor: Actor, text_id: str) -> OptimizationStatus:
        opt_id = parse_id(text_id)
        found = await self._reg.db.rows(
            "SELECT request, worker_count, owner, created_at FROM optimizations FINAL WHERE id = {id:UInt64}",
            {"id": opt_id})
        if not found or not actor.owns(str(found[0][2])):
            raise NotFound(f"no optimization {text_id[:40]}", details={"id": text_id[:40]})
        request, worker_count, _, created = found[0]
        created_at = utc(created)
        commands = [command_row(r) for r in await self._reg.db.rows(
            f"{SELECT} WHERE optimization_id = {{o:UInt64}} ORDER BY id", {"o": opt_id})]
        acked = sum(1 for c in commands if c.status == "acked")
        failed = sum(1 for c in commands if c.status == "failed")
        pending = len(commands) - acked - failed
        status = "running" if pending else ("failed" if failed else "completed")
        improvement = await self._improvement(sorted({c.worker_id for c in commands}), to_ms(created_at))
        return OptimizationStatus(
            id=f"{_ID_PREFIX}{opt_id}", status=status,
            progress=(acked + failed) * 100 // len(commands) if commands else 100,
            results=OptimizationResults(
                hashrate_improvement=improvement, power_efficiency_gain=0.0,
                memory_optimization=_outcome([c.status for c in commands if c.command == "update_config"]),
                thermal_optimization=_outcome([c.status for c in commands if c.command == "set_power_limit"]),
                commands=len(commands), acked=acked, failed=failed, pending=pending),
            optimization_level=str(json.loads(request).get("optimization_level", "")),
            workers=int(worker_count), created_at=created_at,
        )

    async def _improvement(self, worker_ids: list[int], start_ms: int) -> float:
        """% change of the batch's workers' summed 10-minute hashrate: before the start vs the last 10 min."""
        if not worker_ids:
            return 0.0
        rows = await self._reg.db.rows(
            "SELECT address, worker_name FROM workers FINAL WHERE id IN {ids:Array(UInt64)}", {"ids": worker_ids})
        pairs = {(str(a), str(w)) for a, w in rows}
        now_ms = to_ms(self._reg.now())
        before = after = 0.0
        for miner in sorted({a for a, _ in pairs}):
            before += await _hashrate(self._reg, miner, pairs, start_ms)
            after += await _hashrate(self._reg, miner, pairs, now_ms)
        return round((after - before) * 100 / before, 2) if before > 0 else 0.0


async def _hashrate(reg: Registry, miner: str, pairs: set[tuple[str, str]], at_ms: int) -> float:
    """The summed 10-minute hashrate, ending at `at_ms`, of `miner`'s workers among `pairs`."""
    rows = [r for r in await window_rows(reg.db, at_ms, TEN_MINUTES, miner=miner) if (r.miner, r.worker) in pairs]
    return sum(rate.hashrate for found in rates(rows, TEN_MINUTES, at_ms, lambda r: r.worker).values()
               for rate in found)


def _outcome(statuses: list[str]) -> str:
    if any(s == "failed" for s in statuses):
        return "failed"
    return "applied" if statuses and all(s == "acked" for s in statuses) else "pending"
