"""Users (admin): create one with a role and a tier, list them. Passwords are never returned."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from api.auth.accounts import AccountService
from api.auth.store import UserRow
from api.controllers import ERROR_RESPONSES
from api.controllers.auth import UNAUTHORIZED, client_ip
from api.dto.auth import NewUser, UserInfo
from api.envelope import Envelope, Meta, Paging
from api.security import ROLE_PERMISSIONS, Permission, Principal, requires


def user_info(user: UserRow) -> UserInfo:
    return UserInfo(username=user.username, user_id=user.user_id, role=user.role,
                    permissions=sorted(str(p) for p in ROLE_PERMISSIONS.get(user.role, ())), tier=user.tier,
                    disabled=user.disabled, created_at=user.created_at, updated_at=user.updated_at)


class UsersController(Controller):
    path = "/users"
    tags = ["auth"]
    guards = [requires(Permission.ADMIN)]

    @post("/", summary="Create a user (admin)", responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def create(self, data: NewUser, caller: Principal, request: Request[Any, Any, Any],
                     accounts: AccountService, meta: Meta) -> Envelope[UserInfo]:
        user = await accounts.create_user(caller.subject, data.username, data.password, data.role, data.tier,
                                          ip=client_ip(request))
        return Envelope(data=user_info(user), meta=meta)

    @get("/", summary="List users (admin)", responses={**ERROR_RESPONSES, **UNAUTHORIZED})
    async def list_users(self, paging: Paging, accounts: AccountService, meta: Meta) -> Envelope[list[UserInfo]]:
        users, total = await accounts.store.users(offset=paging.offset, limit=paging.limit)
        return Envelope(data=[user_info(u) for u in users], meta=meta.paged(paging, total))
