"""The SFR rewards resource (issue 11, seed 003) at `/api/v1/rewards`: contributions, calculation (B × C × M × H),
factors, market price, holding incentive, approval and distribution, limits, reports, batches, audit.

Module map (each module's docstring states what the others may rely on): `context` (db, clock, lock, ids,
audit), `access` (roles, userId, rate limits), `problems` (RFC 7807), `paging` (PageResponse), `router` (the
Router and its controller list), `audit_log` (the writer of reward_audit), then one module per resource part.
The math is `kernels.sfr`, the contract `schemas.sfr`, the tables migration 0019.
"""

from __future__ import annotations

from api.rewards.context import RewardsContext
from api.rewards.router import PATH, build_router
from api.rewards.settings import RewardsSettings

__all__ = ["PATH", "RewardsContext", "RewardsSettings", "build_router"]
