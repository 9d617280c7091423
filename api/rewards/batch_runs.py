"""Scheduled runs of the rewards (issue 11): the daily and monthly batches and the mining settlement periods,
each recorded as one row of `reward_batches` (migration 0019; the calculation batches are calculation.py's).

Contract of `run_once(ctx, caller, ip, kind, run_key, batch_id, steps)`:
- one row per `run_key` (e.g. `daily:2025-08-26`), versioned running -> succeeded | failed;
- idempotent per period: a run that succeeded is final, and calling again answers that run (`already` True)
  without running a step; a run still `running` (another caller, started less than STALE_AFTER ago) is
  answered as it stands; a failed run, or one left `running` by a stopped process, is run again (every step:
  the steps are written to be harmless when repeated);
- the steps run in order; a step that raises does not stop the others: its entry in the result says `ok`
  false, its REWARD code (or INTERNAL_ERROR) and the error, it is logged, and the run is `failed`;
- every finished run is written to the audit log (`batch.<kind>`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from api.errors import ApiError
from api.rewards.context import RewardsContext
from api.rewards.problems import RewardError
from api.security import ROLE_PERMISSIONS, Principal
from schemas.config import first_line

log = logging.getLogger(__name__)
COLUMNS = ("id", "batch_id", "kind", "run_key", "requested_by", "started_at", "finished_at", "state", "result",
           "updated_at")
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
STALE_AFTER = dt.timedelta(minutes=30)
_LATEST = (f"SELECT {', '.join(COLUMNS)} FROM reward_batches FINAL WHERE run_key = {{k:String}} "
           "ORDER BY id DESC LIMIT 1")
_SETTLED = ("SELECT run_key FROM reward_batches FINAL WHERE run_key IN {k:Array(String)} "
            "AND state = {s:String}")

#: who the scheduled jobs act as (the audit log names them `sfr-jobs`, role SYSTEM)
JOBS_CALLER = Principal(subject="sfr-jobs", permissions=ROLE_PERMISSIONS["system"], method="internal")

Step = tuple[str, Callable[[], Awaitable[dict[str, Any]]]]


@dataclass(frozen=True)
class BatchRun:
    id: int
    batch_id: str
    kind: str
    run_key: str
    requested_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    state: str
    result: dict[str, Any]
    updated_at: dt.datetime

    def row(self) -> list[Any]:
        return [self.id, self.batch_id, self.kind, self.run_key, self.requested_by, self.started_at,
                self.finished_at, self.state, json.dumps(self.result, separators=(",", ":"), sort_keys=True,
                                                         default=str, ensure_ascii=False), self.updated_at]

    def failed_codes(self) -> list[str]:
        steps = self.result.get("steps", {})
        return [str(s.get("code", "")) for s in steps.values() if isinstance(s, dict) and s.get("ok") is False]


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _of(row: Sequence[Any]) -> BatchRun:
    rid, batch_id, kind, key, by, started, finished, state, result, updated = row
    started_at, updated_at = _utc(started), _utc(updated)
    assert started_at is not None and updated_at is not None
    return BatchRun(int(rid), str(batch_id), str(kind), str(key), str(by), started_at, _utc(finished), str(state),
                    json.loads(result or "{}"), updated_at)


async def latest(ctx: RewardsContext, run_key: str) -> BatchRun | None:
    rows = await ctx.db.rows(_LATEST, {"k": run_key})
    return _of(rows[0]) if rows else None


async def settled(ctx: RewardsContext, run_keys: Sequence[str]) -> set[str]:
    """Those of `run_keys` whose run succeeded."""
    if not run_keys:
        return set()
    rows = await ctx.db.rows(_SETTLED, {"k": list(run_keys), "s": SUCCEEDED})
    return {str(r[0]) for r in rows}


async def _step(name: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    try:
        return {"ok": True, **await step()}
    except RewardError as exc:
        log.error("rewards batch step %s failed: %s %s", name, exc.code, exc.detail)
        return {"ok": False, "code": str(exc.code), "error": exc.detail}
    except ApiError as exc:
        log.error("rewards batch step %s failed: %s %s", name, exc.code, exc.message)
        return {"ok": False, "code": str(exc.code), "error": exc.message}
    except Exception as exc:  # recorded in the run (failed) and logged with its traceback; the run goes on
        log.exception("rewards batch step %s failed", name)
        return {"ok": False, "code": "INTERNAL_ERROR", "error": first_line(exc)}


async def run_once(ctx: RewardsContext, caller: Principal, ip: str, kind: str, run_key: str, batch_id: str,
                   steps: Sequence[Step], *, period: dict[str, Any] | None = None) -> tuple[BatchRun, bool]:
    """(the run of `run_key`, whether it had already run or is running elsewhere) — see the module contract."""
    now = ctx.now()
    async with ctx.lock:
        previous = await latest(ctx, run_key)
        if previous is not None and (previous.state == SUCCEEDED or (
                previous.state == RUNNING and now - previous.updated_at < STALE_AFTER)):
            return previous, True
        attempt = int(previous.result.get("attempt", 0)) + 1 if previous is not None else 1
        row_id = previous.id if previous is not None else await ctx.next_id("reward_batches")
        version = ctx.version_after(previous.updated_at) if previous is not None else now
        running = BatchRun(row_id, batch_id, kind, run_key, caller.subject, now, None, RUNNING,
                           {"attempt": attempt, "period": period or {}}, version)
        await ctx.insert("reward_batches", [running.row()], COLUMNS)
    results = {name: await _step(name, step) for name, step in steps}
    state = FAILED if any(not r["ok"] for r in results.values()) else SUCCEEDED
    done = replace(running, finished_at=ctx.now(), state=state, result={**running.result, "steps": results},
                   updated_at=ctx.version_after(running.updated_at))
    await ctx.insert("reward_batches", [done.row()], COLUMNS)
    await ctx.audit.record(caller, ip, f"batch.{kind}", "batch", batch_id,
                           after={"runKey": run_key, "state": state, "result": done.result})
    return done, False
