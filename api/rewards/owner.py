"""Whose data a `{userId}` path names: a userId, or `me` (the caller's own userId). A user reads only their own
(REWARD_004 otherwise); an ADMIN (or SYSTEM) caller anyone's.
"""

from __future__ import annotations

from api.errors import InvalidRequest
from api.rewards.context import RewardsContext
from api.security import Principal

ME = "me"
MAX_USER_ID = 64


async def owner(ctx: RewardsContext, caller: Principal, user_id: str) -> str:
    """The userId `user_id` names (`me`: the caller's), after checking the caller may read it."""
    if user_id == ME:
        return await ctx.callers.user_id(caller)
    if not 1 <= len(user_id) <= MAX_USER_ID:
        raise InvalidRequest(f"a userId has 1 to {MAX_USER_ID} characters", details={"field": "userId"})
    await ctx.callers.ensure_own(caller, user_id)
    return user_id
