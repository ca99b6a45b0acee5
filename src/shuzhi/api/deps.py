"""Dependencies shared by every route: the database session and the acting principal."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import PermissionDenied, Unauthenticated
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal, authenticate_api_key
from shuzhi.platform.permissions import roles_for
from shuzhi.platform.roles import ROLE_LABELS_ZH
from shuzhi.platform.sessions import ActiveSession, resolve_session
from shuzhi.storage.db import Database
from shuzhi.storage.models import User

if TYPE_CHECKING:
    from shuzhi.employees import EmployeeRuntime

SESSION_COOKIE = "shuzhi_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def client_ip(request: Request) -> str | None:
    """The caller's address for the audit log (the direct peer; proxies are not trusted)."""
    return request.client.host if request.client else None


def login_session(request: Request, session: Session) -> ActiveSession | None:
    """The console session behind the cookie, cached on the request."""
    cached: ActiveSession | None = getattr(request.state, "login", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    active = resolve_session(session, token) if token else None
    request.state.login = active
    # Kept as a plain string: error pages render after the session has been rolled back.
    request.state.csrf_token = active.login.csrf_token if active else ""
    return active


def check_csrf(request: Request, active: ActiveSession, sent: str | None = None) -> None:
    """Cookie-authenticated changes must echo the session's CSRF token (header or form field)."""
    if request.method in SAFE_METHODS:
        return
    sent = sent or request.headers.get(CSRF_HEADER)
    if not sent or not hmac.compare_digest(sent, active.login.csrf_token):
        raise PermissionDenied(
            "请求缺少有效的 CSRF 令牌", hint="刷新页面后重试；接口调用请改用 API 密钥"
        )


def record_security_event(
    request: Request, session: Session, action: str, *, actor: str, **detail: Any
) -> None:
    """Audit a refused request and commit it at once, before the refusal rolls the session back.

    GB/T 22239-2019 8.1.4.3 a) asks for security events (failed sign-ins, refused access) in the
    audit log, with the address they came from. Nothing but resolving the principal has happened
    in the session at this point, so committing it here is safe.
    """
    audit(session, action, actor=actor, target=f"{request.method} {request.url.path}"[:255],
          source_ip=client_ip(request), **detail)  # fmt: skip
    session.commit()


def session_cookie_principal(request: Request, session: Session) -> Principal | None:
    active = login_session(request, session)
    if active is None:
        return None
    check_csrf(request, active)
    return active.principal


# scope="function": the transaction commits before the response leaves, so a client acting on
# the response (a browser following the sign-in redirect) sees what the request wrote, and a
# failed commit becomes an error response instead of a lost write behind a 200.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def signed_in_principal(request: Request, session: DbSession) -> Principal:
    """Whoever the request is authenticated as (API key, else console session), even one whose
    account still holds a one-time password.

    Only what such a person needs takes this directly: ``/api/auth/me``, ``/api/auth/password``,
    and the console's pages, which send them to the password page instead of answering 403.
    Everything else goes through :func:`get_principal`.
    """
    request.state.db_session = session  # for auditing a refusal in the same transaction
    token = _bearer(request)
    if token:
        try:
            return authenticate_api_key(session, token)
        except Unauthenticated:
            record_security_event(
                request, session, "auth.apikey", actor="anonymous", outcome="failure"
            )
            raise
    resolver = getattr(request.app.state, "session_principal", session_cookie_principal)
    if resolver is not None:
        principal: Principal | None = resolver(request, session)
        if principal is not None:
            return principal
    raise Unauthenticated(
        "需要登录或提供 API 密钥", hint="请求头加上 Authorization: Bearer <API 密钥>"
    )


class PasswordChangeRequired(PermissionDenied):
    """The account signed in with a one-time password it has not changed yet."""

    code = "password_change_required"


def get_principal(request: Request, session: DbSession) -> Principal:
    """The acting principal; a person still on a one-time password is refused.

    A new account's or a reset account's password was made by an administrator and passed on to
    its holder, so until the holder replaces it, what is done with it cannot be told apart from
    what the administrator could do (docs/platform.md: "must change it first"). The console
    always enforced this; the API has to as well, or a reviewer could decide tasks and an auditor
    read the log with the password someone else handed them.

    API keys are let through: a key is a credential of its own, made by the security admin for a
    script or a system and never derived from the password (``reset_password`` ends the
    person's sessions but leaves their keys). Refusing them would stop a department's
    integration whenever its owner's password is reset; a key no longer trusted is revoked.
    """
    principal = signed_in_principal(request, session)
    if principal.api_key_id is None and principal.user_id is not None:
        user = session.get(User, principal.user_id)
        if user is not None and user.must_change_password:
            record_security_event(request, session, "access.denied", actor=principal.name,
                                  outcome="failure", reason="must_change_password")  # fmt: skip
            raise PasswordChangeRequired(
                "请先修改初始密码：POST /api/auth/password {old_password, new_password}，"
                "或在控制台“修改密码”页面修改",
                hint="改密码前只能调用 /api/auth/me、/api/auth/password 和 /api/auth/logout",
            )
    return principal


# Every route but /api/auth/me and /api/auth/password takes this (through ``require``), so a new
# route cannot forget the one-time password check.
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
SignedInPrincipal = Annotated[Principal, Depends(signed_in_principal)]


def require(permission: str) -> Any:
    """A dependency that admits the principal only when a role grants ``permission``.

    Use as ``principal: Annotated[Principal, require("kb.read")]``. Department scoping of the
    records themselves is the route's job, with ``principal.visible_departments(permission)``.
    """
    roles_for(permission)  # fail at import time on a misspelt permission

    # ``request`` defaults to None so that code may also call ``require(p).dependency(principal)``
    # directly (the /v1 routes do); FastAPI still injects it by its annotation.
    def check(
        principal: CurrentPrincipal,
        request: Request = None,  # type: ignore[assignment]
    ) -> Principal:
        if not principal.can(permission):
            session = getattr(request.state, "db_session", None) if request else None
            if session is not None:
                record_security_event(request, session, "access.denied", actor=principal.name,
                                      outcome="failure", permission=permission)  # fmt: skip
            names = "、".join(ROLE_LABELS_ZH[r] for r in sorted(roles_for(permission)))
            raise PermissionDenied(
                f"当前账号没有权限执行此操作（{permission}，需要：{names}）",
                hint="请联系安全保密管理员授予角色",
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the matrix test
    return Depends(check)


# -- the employee runtime and the HTTP side of /v1 calls --------------------------------------


def employee_runtime(request: Request) -> EmployeeRuntime:
    """The application's one employee runtime, shared by ``/api``, ``/v1`` and the console.

    It always holds the gateway and asks it on every turn whether a model endpoint is configured,
    so an endpoint added while the platform runs is used without a restart (and none means offline).
    """
    from shuzhi.api.routes.knowledge import knowledge_service
    from shuzhi.api.routes.openai_compat import get_gateway
    from shuzhi.employees import EmployeeRuntime

    found: EmployeeRuntime | None = getattr(request.app.state, "employee_runtime", None)
    if found is None:
        found = EmployeeRuntime(
            get_db(request),
            get_settings(request),
            gateway=get_gateway(request),
            knowledge=knowledge_service(request),
        )
        request.app.state.employee_runtime = found
    return found


@dataclass
class ModelCall:
    """The HTTP side of one ``/v1`` call, for virtual models that need more than the messages.

    A virtual model is handed a ``ChatRequest`` only; an employee model also needs who is calling
    (to scope by department), the request's headers and ``user`` field (a conversation to
    continue), and a way to send headers back (the conversation it answered in).
    """

    request: Request
    principal: Principal
    user: str | None = None
    reply_headers: dict[str, str] = field(default_factory=dict)


_model_call: ContextVar[ModelCall | None] = ContextVar("shuzhi_model_call", default=None)


def bind_model_call(request: Request, principal: Principal, user: str | None = None) -> ModelCall:
    """Make this ``/v1`` call visible to virtual models for the rest of the request."""
    call = ModelCall(request, principal, user)
    _model_call.set(call)
    return call


def current_model_call() -> ModelCall | None:
    return _model_call.get()
