"""The rate limiter's decisions: per caller, by tier, anonymous by IP; a failing store lets requests through."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from limits.storage import storage_from_string

from api.ratelimit import RateLimiter, open_storage
from api.security import ANONYMOUS, Permission, Principal, Tier
from schemas.config import SettingsError

LIMITS = {Tier.ANONYMOUS: 2, Tier.AUTHENTICATED: 3, Tier.PREMIUM: 4, Tier.ENTERPRISE: 5}


def user(name: str, tier: Tier = Tier.AUTHENTICATED) -> Principal:
    return Principal(subject=name, permissions=frozenset({Permission.READ}), tier=tier, method="api_key")


@pytest.mark.parametrize("store", ["local", "limits"])
def test_each_caller_has_its_own_window_anonymous_ones_per_ip(store: str) -> None:
    # the in-process counters (memory://) and a `limits` store (what redis:// uses) decide the same
    limiter = RateLimiter(LIMITS, None if store == "local" else storage_from_string("async+memory://"))

    async def go() -> list[Any]:
        return [await limiter.check(who, ip) for who, ip in [
            (ANONYMOUS, "1.1.1.1"), (ANONYMOUS, "1.1.1.1"), (ANONYMOUS, "1.1.1.1"), (ANONYMOUS, "2.2.2.2"),
            (user("a"), "1.1.1.1"), (user("a"), "9.9.9.9"), (user("b", Tier.ENTERPRISE), "1.1.1.1")]]

    decisions = asyncio.run(go())
    assert [d.allowed for d in decisions] == [True, True, False, True, True, True, True]
    assert [d.remaining for d in decisions] == [1, 0, 0, 1, 2, 1, 4]  # "a" counts across IPs
    assert decisions[-1].limit == 5 and decisions[-1].tier is Tier.ENTERPRISE
    assert decisions[2].retry_after >= 1


def test_a_failing_store_lets_requests_through() -> None:
    limiter = RateLimiter(LIMITS, storage_from_string("async+memory://"))

    class Broken:
        async def incr(self, *_: Any) -> int:
            raise ConnectionError("redis down")

    limiter._storage = Broken()  # type: ignore[assignment]
    assert asyncio.run(limiter.check(ANONYMOUS, "1.1.1.1")) is None


def test_storage_uri_errors_name_the_setting() -> None:
    with pytest.raises(SettingsError, match="API_RATE_LIMIT_STORAGE"):
        open_storage("nosuch://x")
    assert open_storage("memory://") is None  # the in-process counters


def test_local_windows_turn_with_the_clock_minute() -> None:
    from api.ratelimit import _LocalWindows

    windows = _LocalWindows()
    assert windows.hit("a", 119.0) == (1, 120.0) and windows.hit("a", 119.9) == (2, 120.0)
    assert windows.hit("a", 120.0) == (1, 180.0)  # a new minute: counted from zero, old keys dropped
    assert windows.hit("b", 150.0) == (1, 180.0)
