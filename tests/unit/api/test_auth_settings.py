"""The API_* authentication and rate-limit variables: parsed into ApiSettings, bad values named, secrets
never in the settings' repr."""

from __future__ import annotations

import pytest

from poolstream.settings import load
from schemas.config import SettingsError


def test_auth_and_rate_variables_reach_api_settings() -> None:
    s = load({"API_JWT_SECRET": "s" * 40, "API_ALLOW_BASIC_AUTH": "true", "API_KEY_TTL_DAYS": "30",
              "API_ADMIN_USER": "root", "API_ADMIN_PASSWORD": "hunter2hunter2", "API_RATE_LIMIT_ENABLED": "no",
              "API_RATE_LIMIT_STORAGE": "redis://cache:6379", "API_RATE_ANONYMOUS": "10",
              "API_RATE_AUTHENTICATED": "20", "API_RATE_PREMIUM": "30", "API_RATE_ENTERPRISE": "40",
              "API_JWT_TTL_S": "600"})
    api = s.api
    assert api.jwt_secret == "s" * 40 and api.allow_basic_auth and api.key_ttl_days == 30 and api.jwt_ttl_s == 600
    assert (api.admin_user, api.admin_password) == ("root", "hunter2hunter2")
    assert not api.rate_limit_enabled and api.rate_limit_storage == "redis://cache:6379"
    assert (api.rate_anonymous, api.rate_authenticated, api.rate_premium, api.rate_enterprise) == (10, 20, 30, 40)
    assert "s" * 40 not in repr(s) and "hunter2" not in repr(s)
    assert load({}).api.jwt_secret is None and load({}).api.rate_anonymous == 100


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"API_JWT_SECRET": "short"}, "API_JWT_SECRET"),
        ({"API_ADMIN_USER": "root"}, "API_ADMIN_PASSWORD"),
        ({"API_RATE_PREMIUM": "0"}, "API_RATE_PREMIUM"),
        ({"API_ALLOW_BASIC_AUTH": "maybe"}, "API_ALLOW_BASIC_AUTH"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load(env)
