"""Dependencies shared by every route: the database session and the acting principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import PermissionDenied, Unauthenticated
from shuzhi.platform.identity import Principal, authenticate_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    with db.session() as session:
        yield session


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    token = _bearer(request)
    if token:
        return authenticate_api_key(session, token)
    resolver = getattr(request.app.state, "session_principal", None)
    if resolver is not None:
        principal: Principal | None = resolver(request, session)
        if principal is not None:
            return principal
    raise Unauthenticated(
        "需要登录或提供 API 密钥", hint="请求头加上 Authorization: Bearer <API 密钥>"
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
DbSession = Annotated[Session, Depends(get_session)]


def require_any_role(principal: Principal, *roles: Role) -> None:
    if not principal.role_names & {r.value for r in roles}:
        names = "、".join(r.value for r in roles)
        raise PermissionDenied(f"当前账号没有权限执行此操作（需要角色：{names}）")
