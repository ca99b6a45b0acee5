"""Console pages of the platform itself: dashboard, review queue, audit log, users, roles,
departments and API keys. They call ``shuzhi.platform`` directly, never the HTTP API."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from shuzhi.api.deps import DbSession, client_ip
from shuzhi.cn.clock import read_as_local
from shuzhi.console import review_forms
from shuzhi.console.web import page, render
from shuzhi.console.workorder_list import PAGE_SIZE, Page, is_visible, page_number
from shuzhi.console.workorder_pages import by_classifier
from shuzhi.errors import InvalidInput
from shuzhi.platform import accounts, review
from shuzhi.platform.accounts import Actor
from shuzhi.platform.audit import AuditFilter, export_csv, query_records, verify_chain
from shuzhi.platform.identity import Principal
from shuzhi.platform.metrics import dashboard
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.decisions import DISPATCH_REVIEW
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import ApiKey, Department, User, WorkOrder

router = APIRouter(prefix="/console", include_in_schema=False)
WORK_ORDER = "work_order"  # the subject type of a review task about a work order


def _departments(session: Any) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


# dashboard -----------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(
    request: Request, principal: Annotated[Principal, page("metrics.read")], session: DbSession
) -> Response:
    board = dashboard(session, principal.visible_departments("metrics.read"))
    charts = json.dumps(board.as_dict(), ensure_ascii=False)
    return render(request, "dashboard.html", {"board": board, "charts": charts})


# review queue --------------------------------------------------------------------------------


@router.get("/reviews")
def reviews_page(
    request: Request,
    principal: Annotated[Principal, page("review.read")],
    session: DbSession,
    status: str = "pending",
    overdue: bool = False,
) -> Response:
    queue = review.queue_for(principal, status=status or None, overdue_only=overdue)
    current = _review_page(session, queue, page_number(request.query_params.get("page")))
    tasks = review.list_tasks(session, queue, limit=PAGE_SIZE,
                              offset=(current.number - 1) * PAGE_SIZE)  # fmt: skip
    context = {"tasks": tasks, "status": status, "overdue": overdue, "now": utcnow(),
               "departments": _departments(session), "pg": current,
               "page_query": lambda n: _review_query(status, overdue, n)}  # fmt: skip
    return render(request, "reviews.html", context)


def _review_page(session: Any, queue: review.Queue, number: int) -> Page:
    """The page asked for, of as many as the queue fills; a page past the end is the last."""
    current = Page(number, review.count_tasks(session, queue))
    return replace(current, number=min(number, current.count))


def _review_query(status: str, overdue: bool, number: int) -> str:
    """The queue's filters and page as a query string. The status is always given, because an
    empty one (every status) differs from none (pending, the default)."""
    values: dict[str, Any] = {"status": status}
    if overdue:
        values["overdue"] = "true"
    if number > 1:
        values["page"] = number
    return urlencode(values)


@router.get("/reviews/{task_id}")
def review_detail(
    task_id: int,
    request: Request,
    principal: Annotated[Principal, page("review.read")],
    session: DbSession,
) -> Response:
    task = review.get_task(session, task_id, principal)
    return render(request, "review_detail.html", _review_context(task, principal, session))


def _review_context(
    task: Any, principal: Principal, session: Any, form: review_forms.ReviewForm | None = None
) -> dict[str, Any]:
    proposal = task.proposal if isinstance(task.proposal, dict) else {}
    mode = str(proposal.get("mode", "model"))
    mode = mode if mode in ("model", "offline") else "model"
    decided = (task.decision or {}).get("content")
    order = _subject_order(session, task, principal)
    return {
        "task": task,
        "mode": mode,
        "classifier": task.kind == DISPATCH_REVIEW and by_classifier(mode, proposal.get("model")),
        "order": order,
        "order_link": order is not None and is_visible(order, principal),
        "proposal_json": review_forms.proposal_json(task),
        "form": form or review_forms.form_for(task),
        "fields": _fields(task.proposal),
        "decision_fields": _fields(decided),
        "can_decide": principal.can("review.decide", task.department_id),
        "now": utcnow(),
        "departments": _departments(session),
    }


def _subject_order(session: Any, task: Any, principal: Principal) -> WorkOrder | None:
    """The work order a task is about, for its citizen's message: shown to whoever may read the
    task when the order is of the task's department, else only to readers of the order."""
    if task.subject_type != WORK_ORDER:
        return None
    order: WorkOrder | None = session.scalar(
        select(WorkOrder).where(WorkOrder.code == task.subject_id)
    )
    if order is None or (
        order.department_id != task.department_id and not is_visible(order, principal)
    ):
        return None
    return order


@dataclass(frozen=True)
class Candidate:
    category: str
    handling_unit: str
    confidence: str  # as a percentage


@dataclass(frozen=True)
class Field:
    """One part of a proposal as a reviewer reads it: a line of text, a block (nested values as
    JSON, with Chinese left readable) or a table of dispatch candidates."""

    key: str
    text: str
    block: bool = False
    candidates: list[Candidate] | None = None


def _fields(content: Any) -> list[Field]:
    if not isinstance(content, dict):
        content = {} if content is None else {"content": content}
    fields = []
    for key, value in content.items():
        candidates = _candidates(value, content) if key == "candidates" else None
        lines = _lines(value)
        if candidates is not None:
            fields.append(Field(str(key), "", candidates=candidates))
        elif lines is not None:
            fields.append(Field(str(key), "\n".join(lines), True))
        elif isinstance(value, dict | list):
            fields.append(Field(str(key), json.dumps(value, ensure_ascii=False, indent=2), True))
        elif isinstance(value, float):
            shown = f"{value:.0%}" if key == "confidence" else f"{value:.2f}"
            fields.append(Field(str(key), shown))
        else:
            fields.append(Field(str(key), "—" if value is None else str(value)))
    return fields


def _lines(value: Any) -> list[str] | None:
    """A list a reviewer reads line by line: texts (a reply's demands), or sources that carry
    their citation (《条例》第X条). None for any other shape, which is shown as JSON."""
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    if all(isinstance(item, dict) and isinstance(item.get("citation"), str) for item in value):
        return [str(item["citation"]) for item in value]
    return None


def _candidates(value: Any, content: dict[str, Any]) -> list[Candidate] | None:
    """The dispatch candidates ``[[category, probability], …]`` with the unit each would go to
    (the proposal's own for its category, the duty list's for the others), or None for any
    other shape, which is then shown as JSON."""
    if not isinstance(value, list) or not value or not all(_is_candidate(c) for c in value):
        return None
    rules = load_rules()
    rows = []
    for category, score in value:
        unit = content.get("handling_unit") if category == content.get("category") else None
        unit = str(unit) if unit else rules.handling_unit(str(category))
        rows.append(Candidate(str(category), unit, f"{float(score):.0%}"))
    return rows


def _is_candidate(item: Any) -> bool:
    return (
        isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], int | float)
        and not isinstance(item[1], bool)
    )


@router.post("/reviews/{task_id}/decision")
def review_decide(
    task_id: int,
    request: Request,
    principal: Annotated[Principal, page("review.decide")],
    session: DbSession,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    edited: Annotated[str, Form()] = "",
    category: Annotated[str | None, Form()] = None,
    handling_unit: Annotated[str | None, Form()] = None,
    text: Annotated[str | None, Form()] = None,
) -> Response:
    """Decide a task from its form: the fields of a known kind, or the raw JSON (``edit_json``).

    A form with problems comes back with each message next to its input, as typed."""
    task = review.get_task(session, task_id, principal)
    fields = {"category": category, "handling_unit": handling_unit, "text": text}
    submitted = {"reason": reason, "edited": edited} | {
        k: v for k, v in fields.items() if v is not None
    }
    try:
        decision = review_forms.read_decision(task, action, submitted)
    except review_forms.FormProblems as exc:
        form = review_forms.form_for(task, submitted, exc.problems)
        context = _review_context(task, principal, session, form)
        response = render(request, "_review_decision.html", context, exc.status_code)
        response.headers["HX-Retarget"] = "#review-body"
        return response
    task = review.decide(session, task_id, principal, decision.action, reason=reason,
                         edited=decision.content, source_ip=client_ip(request))  # fmt: skip
    return render(request, "_review_decision.html", _review_context(task, principal, session))


# audit log -----------------------------------------------------------------------------------


def _day(value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d") + (timedelta(days=1) if end else timedelta())
    except ValueError:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{value}") from None
    except OverflowError:  # 9999-12-31 as an end day
        return None
    moment = read_as_local(day)
    if moment is None:
        raise InvalidInput(f"日期超出可用范围：{value}", hint="请填写 1900 年以后的日期")
    return moment


def _audit_filter(since: str | None, until: str | None, action: str | None,
                  actor: str | None, outcome: str | None) -> AuditFilter:  # fmt: skip
    return AuditFilter(_day(since), _day(until, end=True), action or None, actor or None,
                       None, outcome or None)  # fmt: skip


@router.get("/audit")
def audit_page(
    request: Request,
    _: Annotated[Principal, page("audit.read")],
    session: DbSession,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
) -> Response:
    flt = _audit_filter(since, until, action, actor, outcome)
    records = query_records(session, flt, limit=300, newest_first=True)
    query = {"since": since or "", "until": until or "", "action": action or "",
             "actor": actor or "", "outcome": outcome or ""}  # fmt: skip
    return render(request, "audit.html", {"records": records, "q": query})


@router.get("/audit/verify")
def audit_verify(
    request: Request, _: Annotated[Principal, page("audit.read")], session: DbSession
) -> Response:
    return render(request, "_audit_verify.html", {"report": verify_chain(session)})


@router.get("/audit/export.csv")
def audit_export(
    request: Request,
    principal: Annotated[Principal, page("audit.export")],
    session: DbSession,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
) -> Response:
    out = io.StringIO()
    flt = _audit_filter(since, until, action, actor, outcome)
    export_csv(session, out, flt, actor=principal.name, source_ip=client_ip(request))
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=headers)  # fmt: skip


# users and keys ------------------------------------------------------------------------------


def _users_context(session: Any) -> dict[str, Any]:
    users = list(session.scalars(select(User).order_by(User.id)))
    roles = {u.id: accounts.user_roles(session, u.id) for u in users}
    keys = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
    return {"users": users, "roles": roles, "keys": keys, "now": utcnow(),
            "departments": _departments(session), "all_roles": list(Role)}  # fmt: skip


@router.get("/users")
def users_page(
    request: Request, _: Annotated[Principal, page("user.manage")], session: DbSession
) -> Response:
    return render(request, "users.html", _users_context(session))


@router.post("/users")
def users_create(
    request: Request,
    principal: Annotated[Principal, page("user.manage")],
    session: DbSession,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
) -> Response:
    actor = Actor(principal, client_ip(request))
    user, password = accounts.create_account(session, actor, username, display_name)
    context = _users_context(session) | {"created": user.username, "password": password}
    return render(request, "_users_table.html", context)


@router.post("/users/{user_id}/actions")
def users_action(
    user_id: int,
    request: Request,
    principal: Annotated[Principal, page("user.manage")],
    session: DbSession,
    action: Annotated[str, Form()],
) -> Response:
    actor = Actor(principal, client_ip(request))
    extra: dict[str, Any] = {}
    if action in ("disable", "enable"):
        accounts.set_active(session, actor, user_id, action == "enable")
    elif action == "unlock":
        accounts.unlock(session, actor, user_id)
    elif action == "reset_password":
        password = accounts.reset_password(session, actor, user_id)
        username = accounts.get_user(session, user_id).username
        extra = {"created": username, "password": password, "reset": True}
    else:
        raise InvalidInput(f"未知操作：{action}")
    return render(request, "_users_table.html", _users_context(session) | extra)


@router.post("/keys")
def keys_create(
    request: Request,
    principal: Annotated[Principal, page("user.manage")],
    session: DbSession,
    name: Annotated[str, Form()],
    roles: Annotated[list[str] | None, Form()] = None,
    department_id: Annotated[str, Form()] = "",
) -> Response:
    given = ",".join(roles or []).replace("，", ",")
    wanted = [r.strip() for r in given.split(",") if r.strip()]
    dept = int(department_id) if department_id.strip().isdigit() else None
    actor = Actor(principal, client_ip(request))
    _, plain = accounts.issue_api_key(session, actor, name, department_id=dept, roles=wanted)
    return render(request, "_users_table.html", _users_context(session) | {"key": plain})


@router.post("/keys/{key_id}/revoke")
def keys_revoke(
    key_id: int,
    request: Request,
    principal: Annotated[Principal, page("user.manage")],
    session: DbSession,
) -> Response:
    accounts.revoke_api_key(session, Actor(principal, client_ip(request)), key_id)
    return render(request, "_users_table.html", _users_context(session))


# roles ---------------------------------------------------------------------------------------


@router.get("/roles")
def roles_page(
    request: Request, _: Annotated[Principal, page("role.grant")], session: DbSession
) -> Response:
    return render(request, "roles.html", _users_context(session))


@router.post("/roles")
def roles_change(
    request: Request,
    principal: Annotated[Principal, page("role.grant")],
    session: DbSession,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    department_id: Annotated[str, Form()] = "",
    grant: Annotated[str, Form()] = "1",
) -> Response:
    actor = Actor(principal, client_ip(request))
    dept = int(department_id) if department_id.strip().isdigit() else None
    if grant == "1":
        accounts.grant_role(session, actor, username, role, dept)
    else:
        accounts.revoke_role(session, actor, username, role, dept)
    return render(request, "_roles_table.html", _users_context(session))


# departments ---------------------------------------------------------------------------------


@router.get("/departments")
def departments_page(
    request: Request, _: Annotated[Principal, page("department.manage")], session: DbSession
) -> Response:
    return render(request, "departments.html", {"departments": accounts.list_departments(session)})


@router.post("/departments")
def departments_create(
    request: Request,
    principal: Annotated[Principal, page("department.manage")],
    session: DbSession,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    accounts.create_department(session, Actor(principal, client_ip(request)), code, name)
    context = {"departments": accounts.list_departments(session)}
    return render(request, "_departments_table.html", context)
