"""The authenticator over a fake accounts store: keys are cached (no store query per request), a local
revoke drops the cache at once, expiry follows the injected clock, other token kinds plug in by prefix."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
from typing import Any

import pytest

from api.auth.accounts import AccountService
from api.auth.authenticator import Authenticator
from api.auth.store import KeyRow, UserRow
from api.errors import NotFound, Unauthorized
from api.security import Permission, Principal, Tier
from schemas.clock import FixedClock

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class FakeStore:
    """The AccountStore interface in memory, counting lookups."""

    def __init__(self) -> None:
        self.users_by_name: dict[str, UserRow] = {}
        self.keys: dict[str, KeyRow] = {}
        self.lookups = 0
        self.audits: list[tuple[str, str, str]] = []

    async def user(self, username: str) -> UserRow | None:
        return self.users_by_name.get(username)

    async def save_user(self, user: UserRow) -> None:
        self.users_by_name[user.username] = user

    async def key_by_hash(self, hashed: str) -> KeyRow | None:
        self.lookups += 1
        return self.keys.get(hashed)

    async def key_by_id(self, key_id: str) -> KeyRow | None:
        return next((k for k in self.keys.values() if k.key_id == key_id), None)

    async def save_key(self, key: KeyRow) -> None:
        self.keys[key.key_hash] = key

    async def audit(self, ts: dt.datetime, actor: str, action: str, target: str, details: Any, ip: str) -> None:
        self.audits.append((actor, action, target))


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def setup(*, basic: bool = False) -> tuple[FakeStore, Authenticator, AccountService, FixedClock, Monotonic]:
    store, clock, mono = FakeStore(), FixedClock(NOW), Monotonic()
    auth = Authenticator(store, clock, allow_basic=basic, monotonic=mono)  # type: ignore[arg-type]
    accounts = AccountService(store, auth, clock, key_ttl_days=10)  # type: ignore[arg-type]
    return store, auth, accounts, clock, mono


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_key_resolves_from_the_store_once_then_from_the_cache_until_the_ttl() -> None:
    store, auth, accounts, _, mono = setup()
    user = run(accounts.create_user("root", "alice", "long password 1", "write", "premium"))
    key, row = run(accounts.issue_key(user, actor="alice"))
    assert row.permissions == ("read", "write") and row.expires_at == NOW + dt.timedelta(days=10)
    caller = run(auth.resolve(key))
    assert (caller.subject, caller.method, caller.tier, caller.key_id) == ("alice", "api_key", Tier.PREMIUM, row.key_id)
    assert caller.permissions == {Permission.READ, Permission.WRITE}
    for _ in range(5):
        run(auth.resolve(key))
    assert store.lookups == 1
    mono.now += 31
    run(auth.resolve(key))
    assert store.lookups == 2
    assert ("root", "user.create", "alice") in store.audits and ("alice", "api_key.create", row.key_id) in store.audits


def test_a_local_revoke_refuses_the_key_at_once() -> None:
    store, auth, accounts, _, _ = setup()
    user = run(accounts.create_user("root", "bob", "long password 1", "read", "authenticated"))
    key, row = run(accounts.issue_key(user, actor="bob"))
    owner = run(auth.resolve(key))
    run(accounts.revoke(owner, row.key_id))
    with pytest.raises(Unauthorized, match="revoked"):
        run(auth.resolve(key))
    assert store.keys[row.key_hash].revoked and store.keys[row.key_hash].updated_at > row.updated_at


def test_only_the_owner_or_an_admin_revokes_a_key() -> None:
    _, auth, accounts, _, _ = setup()
    user = run(accounts.create_user("root", "carol", "long password 1", "read", "authenticated"))
    _, row = run(accounts.issue_key(user, actor="carol"))
    stranger = Principal(subject="mallory", permissions=frozenset({Permission.READ, Permission.WRITE}), method="jwt")
    with pytest.raises(NotFound):
        run(accounts.revoke(stranger, row.key_id))
    admin = Principal(subject="ops", permissions=frozenset(Permission), method="jwt")
    assert run(accounts.revoke(admin, row.key_id)).revoked


def test_expiry_follows_the_clock_and_unknown_keys_are_refused() -> None:
    store, auth, accounts, clock, _ = setup()
    user = run(accounts.create_user("root", "dan", "long password 1", "read", "authenticated"))
    key, _ = run(accounts.issue_key(user, actor="dan"))
    run(auth.resolve(key))
    clock.advance(10 * 86400)
    with pytest.raises(Unauthorized, match="expired"):
        run(auth.resolve(key))
    with pytest.raises(Unauthorized, match="unknown API key"):
        run(auth.resolve(key[:-3] + "abc"))
    with pytest.raises(Unauthorized, match="unrecognised"):
        run(auth.resolve("hello"))


def test_a_disabled_user_or_a_lowered_role_limits_its_keys() -> None:
    store, auth, accounts, _, _ = setup()
    user = run(accounts.create_user("root", "erin", "long password 1", "admin", "authenticated"))
    key, _ = run(accounts.issue_key(user, actor="erin"))
    store.users_by_name["erin"] = dataclasses.replace(user, role="read")
    assert run(auth.resolve(key)).permissions == {Permission.READ}  # not cached yet: the user's role caps it
    auth.forget_all()
    store.users_by_name["erin"] = dataclasses.replace(user, disabled=True)
    with pytest.raises(Unauthorized, match="disabled"):
        run(auth.resolve(key))


def test_registered_resolvers_take_their_prefix() -> None:
    _, auth, _, _, _ = setup()

    async def workers(token: str) -> Principal | None:
        return Principal(subject="worker:7", method="worker_token", worker_id="7") if token == "psw_good" else None

    auth.register_resolver("psw_", workers)
    assert run(auth.resolve("psw_good")).worker_id == "7"
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        run(auth.resolve("psw_bad"))
    with pytest.raises(ValueError):
        auth.register_resolver("ps_", workers)  # would shadow API keys


def test_basic_is_refused_unless_enabled_and_checks_the_password() -> None:
    header = "Basic " + base64.b64encode(b"frank:long password 1").decode()
    _, auth, _, _, _ = setup()
    with pytest.raises(Unauthorized, match="API_ALLOW_BASIC_AUTH"):
        run(auth.resolve_header(header))
    _, auth, accounts, _, _ = setup(basic=True)
    run(accounts.create_user("root", "frank", "long password 1", "write", "enterprise"))
    caller = run(auth.resolve_header(header))
    assert (caller.subject, caller.method, caller.tier) == ("frank", "basic", Tier.ENTERPRISE)
    with pytest.raises(Unauthorized, match="wrong username or password"):
        run(auth.resolve_header("Basic " + base64.b64encode(b"frank:wrong").decode()))
    with pytest.raises(Unauthorized, match="malformed"):
        run(auth.resolve_header("Basic !!!"))


def test_ensure_user_creates_updates_or_leaves_unchanged() -> None:
    store, _, accounts, _, _ = setup()
    assert run(accounts.ensure_user("boot", "admin", "long password 1", "admin"))[1] == "created"
    assert run(accounts.ensure_user("boot", "admin", "long password 1", "admin"))[1] == "unchanged"
    user, what = run(accounts.ensure_user("boot", "admin", "long password 2", "admin", "premium"))
    assert what == "updated" and user.tier == "premium"
    assert run(accounts.ensure_user("boot", "admin", "long password 2", "admin"))[1] == "unchanged"
