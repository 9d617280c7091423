"""Passwords (scrypt), API key format and JWTs, without ClickHouse."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from api.auth import tokens
from api.auth.keys import KEY_PREFIX, key_hash, key_id_of, new_key
from api.auth.passwords import hash_password, verify_password
from api.errors import Unauthorized
from api.security import ROLE_PERMISSIONS, Permission, Tier

SECRET = "x" * 32
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_password_hash_verifies_only_the_right_password_and_is_salted() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert hash_password("correct horse") != stored  # a fresh salt each time


@pytest.mark.parametrize("stored", ["", "scrypt$1$2", "bcrypt$16384$8$1$00$00", "scrypt$x$8$1$00$00",
                                    "scrypt$16384$8$1$zz$00", "scrypt$4194304$8$1$00$00"])
def test_malformed_or_abusive_stored_hashes_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_api_keys_have_the_prefix_an_id_and_are_stored_as_sha256() -> None:
    key, key_id = new_key()
    assert key.startswith(f"{KEY_PREFIX}{key_id}_") and len(key_id) == 12
    assert key_id_of(key) == key_id
    assert key_hash(key) != key_hash(new_key()[0]) and len(key_hash(key)) == 64
    assert key_id_of(key[:-1]) is None and key_id_of("ps_live_nothex000000_" + "a" * 43) is None


def test_issued_jwt_decodes_to_the_same_caller_until_it_expires() -> None:
    token, expires = tokens.issue(SECRET, "alice", ROLE_PERMISSIONS["write"], Tier.PREMIUM, NOW, 600)
    assert expires == NOW + dt.timedelta(seconds=600)
    caller = tokens.decode(SECRET, token, NOW + dt.timedelta(seconds=599))
    assert (caller.subject, caller.tier, caller.method) == ("alice", Tier.PREMIUM, "jwt")
    assert caller.permissions == {Permission.READ, Permission.WRITE}
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode(SECRET, token, NOW + dt.timedelta(seconds=600))


def test_jwt_with_a_role_claim_and_without_a_tier() -> None:
    token = jwt.encode({"sub": "ops", "role": "admin", "exp": int(NOW.timestamp()) + 60}, SECRET, algorithm="HS256")
    caller = tokens.decode(SECRET, token, NOW)
    assert caller.has(Permission.ADMIN) and caller.tier is Tier.AUTHENTICATED


@pytest.mark.parametrize(
    ("claims", "secret", "message"),
    [
        ({"sub": "a", "role": "admin", "exp": 2_000_000_000}, "y" * 32, "invalid JWT"),  # signed with another secret
        ({"sub": "a", "role": "admin"}, SECRET, "invalid JWT"),  # no exp
        ({"sub": "a", "role": "boss", "exp": 2_000_000_000}, SECRET, "role"),
        ({"sub": "a", "permissions": ["root"], "exp": 2_000_000_000}, SECRET, "permissions"),
        ({"sub": "a", "role": "read", "tier": "gold", "exp": 2_000_000_000}, SECRET, "tier"),
    ],
)
def test_bad_jwts_are_unauthorized_with_the_reason(claims: dict[str, object], secret: str, message: str) -> None:
    token = jwt.encode(claims, secret, algorithm="HS256")
    with pytest.raises(Unauthorized, match=message):
        tokens.decode(SECRET, token, NOW)


def test_jwt_without_a_server_secret_is_refused_saying_so() -> None:
    token = jwt.encode({"sub": "a", "role": "admin", "exp": 2_000_000_000}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="API_JWT_SECRET"):
        tokens.decode(None, token, NOW)
