"""Settings of the SFR rewards (issue 11, seed 003): the rewards API's switches and limits, the daily/monthly
batches and the mining contributions job. One group, `sfr`, in `poolstream.settings`; each field names its
variable. `poolstream.sfr_jobs` hands the API part to `api.rewards.RewardsSettings` and the rest to the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.config import SettingsError, require_positive

#: settlement periods of mining contributions (SFR_MINING_PERIOD) -> their length in seconds
MINING_PERIODS = {"hourly": 3600, "daily": 86400}
#: the largest daily move of the target price the factor adjustment may make (basis points: 1000 = 10 %)
MAX_TARGET_ADJUST_BPS = 1000


def parse_mining_period(raw: object) -> str:
    value = str(raw).strip().lower()
    if value not in MINING_PERIODS:
        raise ValueError(f"must be one of {', '.join(MINING_PERIODS)}")
    return value


@dataclass(frozen=True)
class SfrSettings:
    # the rewards API (api.rewards)
    test_endpoints: bool = False  # SFR_TEST_ENDPOINTS: POST/DELETE /rewards/test/... exist only when on
    rate_user_per_min: int = 100  # SFR_RATE_USER_PER_MIN: seed 003's limit of a user (read/write role)
    rate_admin_per_min: int = 500  # SFR_RATE_ADMIN_PER_MIN: of an ADMIN (SYSTEM is not limited)
    # the scheduled jobs (jobs/sfr_batches.py, jobs/sfr_mining.py)
    job_interval_s: float = 600.0  # SFR_JOB_INTERVAL_S: how often the jobs look for a period to run
    market_price_url: str = ""  # SFR_MARKET_PRICE_URL: JSON price source of the daily batch ("" = keep the last)
    market_price_timeout_s: float = 10.0  # SFR_MARKET_PRICE_TIMEOUT_S
    target_adjust_bps: int = 0  # SFR_TARGET_ADJUST_BPS: daily target-price move toward the 30-day mean; 0 = none
    mining_period: str = "daily"  # SFR_MINING_PERIOD: hourly | daily
    mining_grace_s: float = 900.0  # SFR_MINING_GRACE_S: a period is closed this long after its end

    def __post_init__(self) -> None:
        require_positive("SFR_JOB_INTERVAL_S", self.job_interval_s)
        require_positive("SFR_MARKET_PRICE_TIMEOUT_S", self.market_price_timeout_s)
        if self.rate_user_per_min < 1 or self.rate_admin_per_min < 1:
            raise SettingsError("SFR_RATE_USER_PER_MIN and SFR_RATE_ADMIN_PER_MIN must be at least 1")
        if self.market_price_url and not self.market_price_url.startswith(("http://", "https://")):
            raise SettingsError(f"SFR_MARKET_PRICE_URL must be an http(s) URL, got {self.market_price_url[:80]!r}")
        if not 0 <= self.target_adjust_bps <= MAX_TARGET_ADJUST_BPS:
            raise SettingsError(f"SFR_TARGET_ADJUST_BPS must lie in 0..{MAX_TARGET_ADJUST_BPS}, "
                                f"got {self.target_adjust_bps}")
        if self.mining_period not in MINING_PERIODS:
            raise SettingsError(f"SFR_MINING_PERIOD must be one of {', '.join(MINING_PERIODS)}")
        if not 0 <= self.mining_grace_s < MINING_PERIODS[self.mining_period]:
            raise SettingsError("SFR_MINING_GRACE_S must be >= 0 and shorter than SFR_MINING_PERIOD")

    @property
    def mining_period_s(self) -> int:
        return MINING_PERIODS[self.mining_period]
