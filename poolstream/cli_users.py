"""`poolstream users`: create an API user and print API keys from the command line.

    poolstream users create NAME --role admin [--tier premium] [--password-stdin]
    poolstream users key NAME        # prints a new API key (shown once)
    poolstream users list

It opens ClickHouse itself. The embedded chDB allows one process per data directory, so while
`poolstream run` holds it these commands answer with one line saying so (stop it first, or use the API:
POST /api/v1/users and POST /api/v1/auth/api-key), instead of waiting or failing with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

from poolstream.settings import Settings
from schemas.config import SettingsError

if TYPE_CHECKING:  # the API modules are imported when a `users` command runs, not at every CLI start
    from clickhouse_connect.driver.client import Client

    from api.auth.accounts import AccountService

def add_users_parser(sub: Any) -> None:
    users = sub.add_parser("users", help="API users and keys (create, key, list)")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a user, or update its password/role/tier")
    create.add_argument("name")
    create.add_argument("--role", default="read", help="read (default), write, admin or system")
    create.add_argument("--tier", help="rate-limit tier: authenticated (default), premium or enterprise")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin (one line)")
    key = actions.add_parser("key", help="print a new API key for a user (shown once)")
    key.add_argument("name")
    actions.add_parser("list", help="list the users")
    users.set_defaults(func=cmd_users)


def chdb_in_use(dsn: str) -> bool:
    """Whether another process holds the chDB directory: ClickHouse keeps an exclusive flock on its `status`
    file while it runs (chDB then fails with a message that does not say why)."""
    path = dsn.split("://", 1)[-1]
    status = os.path.join(os.path.abspath(path), "status")
    if path in ("", "memory", ":memory:") or not os.path.exists(status):
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def refuse_if_held(settings: Settings) -> None:
    if settings.clickhouse.embedded and chdb_in_use(settings.clickhouse.dsn):
        raise SettingsError(
            f"the embedded ClickHouse ({settings.clickhouse.dsn}) is in use by another process, probably "
            "`poolstream run`: stop it first, or use the API (POST /api/v1/users, POST /api/v1/auth/api-key)")


def open_accounts(settings: Settings) -> tuple[Client, AccountService]:
    from api.auth.accounts import AccountService
    from api.auth.authenticator import Authenticator
    from api.auth.store import AccountStore
    from api.services.db import Db
    from schemas.clock import SystemClock
    from sinks.client import ClickHouseUnavailable, connect
    from sinks.migrate import migrate

    refuse_if_held(settings)
    try:
        client = connect(settings.clickhouse)
    except ClickHouseUnavailable as exc:
        raise SettingsError(str(exc)) from None
    migrate(client, shares_ttl_days=settings.clickhouse.shares_ttl_days)
    clock = SystemClock()
    store = AccountStore(Db(client))
    return client, AccountService(store, Authenticator(store, clock), clock,
                                  key_ttl_days=settings.api.key_ttl_days)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise SettingsError("the passwords differ")
    else:
        raise SettingsError("no terminal to ask for the password: pipe it with --password-stdin")
    if len(password) < 10:
        raise SettingsError("the password must be at least 10 characters")
    return password


def cmd_users(settings: Settings, args: argparse.Namespace) -> None:
    from api.errors import ApiError

    refuse_if_held(settings)  # before asking for a password
    password = read_password(args.password_stdin) if args.users_command == "create" else ""
    client, accounts = open_accounts(settings)
    try:
        asyncio.run(_users(accounts, args, password))
    except ApiError as exc:
        raise SettingsError(exc.message) from None
    finally:
        client.close()
    # chDB's C++ teardown at interpreter exit can print spurious errors (see poolstream.cli.exit_now)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _users(accounts: AccountService, args: argparse.Namespace, password: str) -> None:
    if args.users_command == "create":
        user, what = await accounts.ensure_user("cli", args.name, password, args.role, args.tier)
        print(f"user {user.username} {what} (role {user.role}, tier {user.tier})")
    elif args.users_command == "key":
        key, row = await accounts.issue_key(await accounts.user_named(args.name), actor="cli")
        print(f"API key for {row.username} (id {row.key_id}, expires {row.expires_at:%Y-%m-%d}); it is not shown "
              "again:", file=sys.stderr)
        print(key)
    else:
        users, total = await accounts.store.users(limit=1000)
        for user in users:
            print("\t".join([user.username, user.role, user.tier] + (["disabled"] if user.disabled else [])))
        print(f"{total} user(s)", file=sys.stderr)
