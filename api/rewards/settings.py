"""The rewards resource's settings group (seed 003): per-role rate limits and the test endpoints' switch.

`ApiDeps.rewards` carries it (default: these values); only the composition root reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewardsSettings:
    #: requests per minute of a user (read/write role) and of an admin; the system role is not limited
    user_per_min: int = 100
    admin_per_min: int = 500
    #: the seed's test endpoints (`/rewards/test/...`) exist only when this is on
    test_endpoints: bool = False
    #: the daily batch (api/rewards/daily.py): the JSON price source ("" = keep the last price) and its timeout,
    #: and the bounded target-price adjustment (basis points per day; 0 = none)
    market_price_url: str = ""
    market_price_timeout_s: float = 10.0
    target_adjust_bps: int = 0

    def __post_init__(self) -> None:
        for name in ("user_per_min", "admin_per_min"):
            if getattr(self, name) < 1:
                raise ValueError(f"RewardsSettings.{name} must be at least 1")
