"""The SFR settings group (schemas.sfr_settings) through the root settings: defaults, every SFR_* variable,
bad values refused in one line naming the variable, and the API part handed to api.rewards."""

from __future__ import annotations

import pytest

from api.rewards import RewardsSettings
from poolstream.settings import load
from poolstream.sfr_jobs import rewards_settings
from schemas.config import SettingsError
from schemas.sfr_settings import SfrSettings


def test_defaults() -> None:
    s = load({}).sfr
    assert s == SfrSettings() and s.test_endpoints is False and s.mining_period_s == 86400
    assert rewards_settings(load({})) == RewardsSettings()


def test_every_variable_reaches_its_field() -> None:
    settings = load({"SFR_TEST_ENDPOINTS": "on", "SFR_RATE_USER_PER_MIN": "7", "SFR_RATE_ADMIN_PER_MIN": "9",
                     "SFR_JOB_INTERVAL_S": "30", "SFR_MARKET_PRICE_URL": "https://prices.example/sfr",
                     "SFR_MARKET_PRICE_TIMEOUT_S": "2.5", "SFR_TARGET_ADJUST_BPS": "50",
                     "SFR_MINING_PERIOD": "Hourly", "SFR_MINING_GRACE_S": "120"})
    assert settings.sfr == SfrSettings(True, 7, 9, 30.0, "https://prices.example/sfr", 2.5, 50, "hourly", 120.0)
    assert settings.sfr.mining_period_s == 3600
    assert rewards_settings(settings) == RewardsSettings(7, 9, True, "https://prices.example/sfr", 2.5, 50)


@pytest.mark.parametrize(("name", "value"), [
    ("SFR_TEST_ENDPOINTS", "maybe"), ("SFR_MINING_PERIOD", "weekly"), ("SFR_MARKET_PRICE_URL", "ftp://x"),
    ("SFR_TARGET_ADJUST_BPS", "1001"), ("SFR_MINING_GRACE_S", "86400"), ("SFR_JOB_INTERVAL_S", "0"),
    ("SFR_RATE_USER_PER_MIN", "0"),
])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load({name: value})
    assert name in str(refused.value) and "\n" not in str(refused.value)
