"""Management API of the platform: sign-in, departments, users, roles, keys, audit, review queues,
metrics and conversation ratings. Each route names its permission from ``platform/permissions``.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from pydantic import BaseModel, Field
from sqlalchemy import select

from shuzhi.api.deps import (
    SESSION_COOKIE,
    DbSession,
    SignedInPrincipal,
    check_csrf,
    client_ip,
    get_db,
    login_session,
    require,
)
from shuzhi.cn.clock import read_as_local
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shuzhi.platform import accounts, review, sessions
from shuzhi.platform.accounts import Actor
from shuzhi.platform.audit import AuditFilter, export_csv, query_records, verify_chain
from shuzhi.platform.identity import Principal, principal_for_user
from shuzhi.platform.metrics import PlatformCollector, dashboard
from shuzhi.storage.db import Database
from shuzhi.storage.models import ApiKey, AuditRecord, Conversation, Department, ReviewTask, User
from shuzhi.validation import Name, Text

router = APIRouter(prefix="/api", tags=["platform"])
metrics_router = APIRouter(tags=["platform"])


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal, client_ip(request))


# sign-in ------------------------------------------------------------------------------------


class LoginRequest(BaseModel):
    username: Name = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    display_name: str = ""
    roles: list[dict[str, Any]]
    must_change_password: bool = False
    csrf_token: str | None = None


def _me(principal: Principal, user: User | None, csrf: str | None = None) -> Me:
    roles = [{"role": r, "department_id": d} for r, d in sorted(principal.roles, key=str)]
    return Me(
        username=principal.name,
        display_name=user.display_name if user else "",
        roles=roles,
        must_change_password=bool(user and user.must_change_password),
        csrf_token=csrf,
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sessions.MAX_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/auth/login", response_model=Me)
def login(body: LoginRequest, request: Request, response: Response, session: DbSession) -> Me:
    outcome = sessions.login(session, body.username, body.password, client_ip(request))
    if outcome.user is None:
        session.commit()  # keep the failure count and its audit record
        raise Unauthenticated(outcome.message)
    row, token = sessions.start_session(session, outcome.user, client_ip(request))
    set_session_cookie(response, request, token)
    principal = principal_for_user(session, outcome.user)
    return _me(principal, outcome.user, row.csrf_token)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, session: DbSession) -> None:
    active = login_session(request, session)
    if active is not None:
        check_csrf(request, active)
        sessions.end_session(session, request.cookies[SESSION_COOKIE], client_ip(request))
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=Me)
def me(principal: SignedInPrincipal, request: Request, session: DbSession) -> Me:
    active = login_session(request, session)
    user = session.get(User, principal.user_id) if principal.user_id else None
    return _me(principal, user, active.login.csrf_token if active else None)


class PasswordChange(BaseModel):
    old_password: str
    new_password: str = Field(min_length=8, max_length=256)


@router.post("/auth/password", status_code=204)
def change_password(
    body: PasswordChange, principal: SignedInPrincipal, request: Request, session: DbSession
) -> None:
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise PermissionDenied("系统密钥没有密码可改")
    accounts.change_own_password(
        session, user, body.old_password, body.new_password, client_ip(request)
    )


# departments ---------------------------------------------------------------------------------


class DepartmentCreate(BaseModel):
    code: Name = Field(min_length=1, max_length=64)
    name: Name = Field(min_length=1, max_length=200)
    parent_id: int | None = None


class DepartmentPublic(BaseModel):
    id: int
    code: str
    name: str
    parent_id: int | None


def _dept(d: Department) -> DepartmentPublic:
    return DepartmentPublic(id=d.id, code=d.code, name=d.name, parent_id=d.parent_id)


@router.get("/departments", response_model=list[DepartmentPublic])
def list_departments(
    _: Annotated[Principal, require("department.manage")], session: DbSession
) -> list[DepartmentPublic]:
    return [_dept(d) for d in accounts.list_departments(session)]


@router.post("/departments", response_model=DepartmentPublic, status_code=201)
def create_department(
    body: DepartmentCreate,
    principal: Annotated[Principal, require("department.manage")],
    request: Request,
    session: DbSession,
) -> DepartmentPublic:
    actor = _actor(request, principal)
    return _dept(accounts.create_department(session, actor, body.code, body.name, body.parent_id))


# users and roles ----------------------------------------------------------------------------


class UserCreate(BaseModel):
    username: Name = Field(min_length=1, max_length=128)
    display_name: Name = ""


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    is_active: bool
    locked: bool
    roles: list[dict[str, Any]]
    last_login_at: datetime | None


class UserCreated(UserPublic):
    password: str = Field(description="一次性初始密码，仅显示这一次")


def _user(session: Any, u: User) -> UserPublic:
    from shuzhi.storage.db import utcnow

    roles = [{"role": r.role, "department_id": r.department_id} for r in accounts.user_roles(
        session, u.id
    )]  # fmt: skip
    return UserPublic(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        is_active=u.is_active,
        locked=bool(u.locked_until and u.locked_until > utcnow()),
        roles=roles,
        last_login_at=u.last_login_at,
    )


def _all_users(session: Any) -> list[UserPublic]:
    return [_user(session, u) for u in session.scalars(select(User).order_by(User.id))]


@router.get("/users", response_model=list[UserPublic])
def list_users(
    _: Annotated[Principal, require("user.manage")], session: DbSession
) -> list[UserPublic]:
    return _all_users(session)


@router.get("/roles", response_model=list[UserPublic])
def list_role_holders(
    _: Annotated[Principal, require("role.grant")], session: DbSession
) -> list[UserPublic]:
    return _all_users(session)


@router.post("/users", response_model=UserCreated, status_code=201)
def create_user(
    body: UserCreate,
    principal: Annotated[Principal, require("user.manage")],
    request: Request,
    session: DbSession,
) -> UserCreated:
    actor = _actor(request, principal)
    user, password = accounts.create_account(session, actor, body.username, body.display_name)
    return UserCreated(**_user(session, user).model_dump(), password=password)


class UserAction(BaseModel):
    action: str = Field(description="disable | enable | unlock | reset_password")


class UserActionResult(BaseModel):
    user: UserPublic
    password: str | None = None


@router.post("/users/{user_id}/actions", response_model=UserActionResult)
def user_action(
    user_id: int,
    body: UserAction,
    principal: Annotated[Principal, require("user.manage")],
    request: Request,
    session: DbSession,
) -> UserActionResult:
    actor = _actor(request, principal)
    password = None
    if body.action in ("disable", "enable"):
        accounts.set_active(session, actor, user_id, body.action == "enable")
    elif body.action == "unlock":
        accounts.unlock(session, actor, user_id)
    elif body.action == "reset_password":
        password = accounts.reset_password(session, actor, user_id)
    else:
        raise InvalidInput(
            f"未知操作：{body.action}", hint="disable、enable、unlock、reset_password"
        )
    return UserActionResult(
        user=_user(session, accounts.get_user(session, user_id)), password=password
    )


class RoleChange(BaseModel):
    role: str
    department_id: int | None = None
    grant: bool = True


@router.post("/users/{user_id}/roles", response_model=UserPublic)
def change_role(
    user_id: int,
    body: RoleChange,
    principal: Annotated[Principal, require("role.grant")],
    request: Request,
    session: DbSession,
) -> UserPublic:
    actor = _actor(request, principal)
    if body.grant:
        accounts.grant_role(session, actor, user_id, body.role, body.department_id)
    else:
        accounts.revoke_role(session, actor, user_id, body.role, body.department_id)
    return _user(session, accounts.get_user(session, user_id))


# API keys -----------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    name: Name = Field(min_length=1, max_length=200)
    user_id: int | None = None
    department_id: int | None = None
    roles: list[str] = Field(default_factory=list)


class KeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    user_id: int | None
    department_id: int | None
    roles: list[str]
    revoked: bool
    last_used_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="密钥明文，仅显示这一次")


def _key(k: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=k.id,
        name=k.name,
        prefix=k.prefix,
        user_id=k.user_id,
        department_id=k.department_id,
        roles=list(k.scopes or []),
        revoked=k.revoked_at is not None,
        last_used_at=k.last_used_at,
    )


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(
    _: Annotated[Principal, require("user.manage")], session: DbSession
) -> list[KeyPublic]:
    return [_key(k) for k in session.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.post("/keys", response_model=KeyCreated, status_code=201)
def create_key(
    body: KeyCreate,
    principal: Annotated[Principal, require("user.manage")],
    request: Request,
    session: DbSession,
) -> KeyCreated:
    key, plain = accounts.issue_api_key(
        session,
        _actor(request, principal),
        body.name,
        user_id=body.user_id,
        department_id=body.department_id,
        roles=body.roles,
    )
    return KeyCreated(**_key(key).model_dump(), key=plain)


@router.delete("/keys/{key_id}", response_model=KeyPublic)
def revoke_key(
    key_id: int,
    principal: Annotated[Principal, require("user.manage")],
    request: Request,
    session: DbSession,
) -> KeyPublic:
    return _key(accounts.revoke_api_key(session, _actor(request, principal), key_id))


# audit ---------------------------------------------------------------------------------------


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    department_id: int | None
    action: str
    target: str
    outcome: str
    source_ip: str | None
    detail: dict[str, Any]
    hash: str


class ChainStatus(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None
    reason: str


def _audit_filter(
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    actor: str | None = None,
    department_id: int | None = None,
    outcome: str | None = None,
) -> AuditFilter:
    """Times without a zone are Beijing time (``since=2026-12-01`` means that day here)."""
    return AuditFilter(
        _moment(since, "since"), _moment(until, "until"), action, actor, department_id, outcome
    )


def _moment(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    moment = read_as_local(value)
    if moment is None:
        raise InvalidInput(f"{name} 超出可用的时间范围：{value.isoformat()}", hint="如 2026-12-01")
    return moment


AuditQuery = Annotated[AuditFilter, Depends(_audit_filter)]


def _audit_row(r: AuditRecord) -> AuditPublic:
    return AuditPublic(
        id=r.id,
        at=r.at,
        actor=r.actor,
        actor_kind=r.actor_kind,
        department_id=r.department_id,
        action=r.action,
        target=r.target,
        outcome=r.outcome,
        source_ip=r.source_ip,
        detail=r.detail,
        hash=r.hash,
    )


@router.get("/audit", response_model=list[AuditPublic])
def list_audit(
    _: Annotated[Principal, require("audit.read")],
    flt: AuditQuery,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditPublic]:
    return [_audit_row(r) for r in query_records(session, flt, limit=limit, newest_first=True)]


@router.get("/audit/verify", response_model=ChainStatus)
def verify_audit(_: Annotated[Principal, require("audit.read")], session: DbSession) -> ChainStatus:
    report = verify_chain(session)
    return ChainStatus(ok=report.ok, checked=report.checked, broken_at=report.broken_at,
                       reason=report.reason)  # fmt: skip


@router.get("/audit/export.csv", response_class=PlainTextResponse)
def export_audit(
    principal: Annotated[Principal, require("audit.export")],
    flt: AuditQuery,
    request: Request,
    session: DbSession,
) -> Response:
    out = io.StringIO()
    export_csv(session, out, flt, actor=principal.name, source_ip=client_ip(request))
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    # The BOM lets Excel, which clerks open CSV files with, read the UTF-8 text correctly.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=headers)  # fmt: skip


# review queues -------------------------------------------------------------------------------


class ReviewPublic(BaseModel):
    id: int
    department_id: int | None
    kind: str
    subject_type: str
    subject_id: str
    title: str
    proposal: dict[str, Any]
    proposed_by: str
    status: str
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    decision: dict[str, Any] | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


def review_public(t: ReviewTask) -> ReviewPublic:
    from shuzhi.storage.db import utcnow

    return ReviewPublic(
        id=t.id,
        department_id=t.department_id,
        kind=t.kind,
        subject_type=t.subject_type,
        subject_id=t.subject_id,
        title=t.title,
        proposal=t.proposal,
        proposed_by=t.proposed_by,
        status=t.status,
        due_at=t.due_at,
        overdue=bool(t.status == "pending" and t.due_at and t.due_at < utcnow()),
        escalation_level=t.escalation_level,
        decision=t.decision,
        decided_by=t.decided_by_name,
        decided_at=t.decided_at,
        reason=t.reason,
    )


@router.get("/reviews", response_model=list[ReviewPublic])
def list_reviews(
    principal: Annotated[Principal, require("review.read")],
    session: DbSession,
    response: Response,
    status: str | None = "pending",
    overdue: bool = False,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[ReviewPublic]:
    """The most urgent first, ``limit`` at a time from ``offset``; the header
    ``X-Total-Count`` says how many the queue holds (a queue is often longer than one page)."""
    queue = review.queue_for(principal, status=status or None, overdue_only=overdue, kind=kind)
    response.headers["X-Total-Count"] = str(review.count_tasks(session, queue))
    tasks = review.list_tasks(session, queue, limit=limit, offset=offset)
    return [review_public(t) for t in tasks]


@router.get("/reviews/{task_id}", response_model=ReviewPublic)
def get_review(
    task_id: int, principal: Annotated[Principal, require("review.read")], session: DbSession
) -> ReviewPublic:
    return review_public(review.get_task(session, task_id, principal))


class Decision(BaseModel):
    action: str = Field(description="accept | edit | reject")
    reason: Text = Field(
        default="", max_length=review.MAX_REASON, description="理由：修改或退回时必填"
    )
    edited: dict[str, Any] | None = None


@router.post("/reviews/{task_id}/decision", response_model=ReviewPublic)
def decide_review(
    task_id: int,
    body: Decision,
    principal: Annotated[Principal, require("review.decide")],
    request: Request,
    session: DbSession,
) -> ReviewPublic:
    task = review.decide(
        session, task_id, principal, body.action, reason=body.reason, edited=body.edited,
        source_ip=client_ip(request),
    )  # fmt: skip
    return review_public(task)


@router.post("/reviews/escalate", response_model=list[ReviewPublic])
def escalate_reviews(
    _: Annotated[Principal, require("department.manage")], session: DbSession
) -> list[ReviewPublic]:
    return [review_public(t) for t in review.escalate_overdue(session)]


# metrics and ratings -------------------------------------------------------------------------


@router.get("/metrics/dashboard")
def dashboard_figures(
    principal: Annotated[Principal, require("metrics.read")], session: DbSession
) -> dict[str, Any]:
    return dashboard(session, principal.visible_departments("metrics.read")).as_dict()


@metrics_router.get("/metrics", response_class=PlainTextResponse)
def prometheus(
    _: Annotated[Principal, require("metrics.read")],
    db: Annotated[Database, Depends(get_db)],
) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(db))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class Rating(BaseModel):
    score: int = Field(ge=1, le=5, description="满意度 1（很不满意）到 5（很满意）")


@router.post("/conversations/{public_id}/satisfaction", status_code=204)
def rate_conversation(
    public_id: str,
    body: Rating,
    principal: Annotated[Principal, require("employee.chat")],
    session: DbSession,
) -> None:
    conversation = session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    if conversation is None or not principal.can("employee.chat", conversation.department_id):
        raise NotFound(f"会话 {public_id} 不存在")
    conversation.satisfaction = body.score
