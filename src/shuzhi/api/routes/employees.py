"""``/api/employees`` and ``/api/conversations``: digital employees — define, move through their
lifecycle, and talk to them.

Every route names its permission and scopes by department: a principal sees and acts on the
employees (and their conversations) of the departments its roles cover; others read as not found.
Definitions and lifecycle changes are audited by :mod:`shuzhi.employees.service`, once. Rating a
conversation is ``POST /api/conversations/{id}/satisfaction`` in the platform routes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.aigc import Mode, visible_label
from shuzhi.api.deps import DbSession, client_ip, employee_runtime, require
from shuzhi.employees import EmployeeDefinition, Turn, service
from shuzhi.employees.definition import definition_from_data
from shuzhi.employees.runtime import Event, StreamReset
from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ShuzhiError
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.loader import line_of, parse_yaml
from shuzhi.storage.models import (
    Conversation,
    Department,
    Employee,
    EmployeeVersion,
    Message,
)
from shuzhi.validation import Text

router = APIRouter(prefix="/api", tags=["employees"])

# -- schemas -----------------------------------------------------------------------------------


class DepartmentPublic(BaseModel):
    id: int
    code: str
    name: str


class EmployeePublic(BaseModel):
    id: str = Field(description="员工编号（slug），也是 /v1 模型名 employee:<编号> 的后半")
    name: str
    department: DepartmentPublic | None
    status: str = Field(description="draft / trial / on_duty / suspended / retired")
    status_label: str
    version: int
    model_name: str = Field(description="在 OpenAI 兼容接口 /v1 上的模型名（在岗时可用）")


class VersionPublic(BaseModel):
    version: int
    created_by: str
    created_at: datetime


class EmployeeDetail(EmployeePublic):
    role: str
    greeting: str
    audience: str
    model: str | None
    skills: list[str]
    knowledge_bases: list[str]
    scenarios: list[str]
    next_states: list[str]
    definition: dict[str, Any]
    versions: list[VersionPublic]


class EmployeeApplied(EmployeeDetail):
    changed: bool = Field(description="是否新建了员工或新增了一个版本")


class EmployeeCreate(BaseModel):
    """An employee definition, as a JSON object or as YAML text (the same fields either way)."""

    definition: dict[str, Any] | None = Field(default=None, description="员工定义（JSON 对象）")
    yaml: str | None = Field(default=None, description="或：员工定义的 YAML 全文")


class TransitionRequest(BaseModel):
    state: str = Field(description="目标状态：trial / on_duty / suspended / retired / draft")
    reason: Text = Field(min_length=1, max_length=500, description="原因，写入审计日志")


class MessagePublic(BaseModel):
    id: int
    role: str
    author: str = Field(description="human / ai / system")
    content: str
    mode: str = Field(description="model / offline / human")
    label: str | None = Field(description="AI 生成内容的显式标识；人写的消息为空")
    model: str | None
    sources: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    created_at: datetime


class ConversationPublic(BaseModel):
    id: str
    employee: str | None
    employee_version: int | None
    department_id: int | None
    channel: str
    status: str
    satisfaction: int | None
    created_at: datetime
    messages: list[MessagePublic]


class TurnRequest(BaseModel):
    text: Text = Field(min_length=1, max_length=4000, description="群众或工作人员的一句话")
    stream: bool = Field(
        default=False, description="以 SSE 逐段返回（或发 Accept: text/event-stream）"
    )


class TurnPublic(BaseModel):
    conversation: str
    content: str
    mode: str
    label: str
    author: str
    model: str | None
    sources: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    review_task_id: int | None
    routed_to: dict[str, Any] | None
    guardrail: str | None
    employee_version: int | None = Field(default=None, description="答复所依据的员工定义版本")

    @classmethod
    def of(cls, turn: Turn) -> TurnPublic:
        return cls.model_validate(turn.as_dict())


# -- lookups, scoped by department ---------------------------------------------------------------


def visible_employee(
    session: Session, slug: str, principal: Principal, permission: str
) -> Employee:
    """The employee, when ``principal`` may see its department for ``permission``."""
    row = session.scalar(select(Employee).where(Employee.slug == slug))
    visible = principal.visible_departments(permission)
    if row is None or (visible is not None and row.department_id not in visible):
        raise NotFound(f"没有编号为 {slug} 的数智员工", hint="用 GET /api/employees 查看可见的员工")
    return row


def visible_conversation(
    session: Session, public_id: str, principal: Principal, permission: str = "employee.chat"
) -> Conversation:
    row = session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    visible = principal.visible_departments(permission)
    if row is None or (visible is not None and row.department_id not in visible):
        raise NotFound(f"没有编号为 {public_id} 的对话", hint="先开始一个新对话")
    return row


def check_may_continue(conversation: Conversation, principal: Principal) -> None:
    """A conversation opened by a named user is continued by that user only."""
    if conversation.user_id is not None and conversation.user_id != principal.user_id:
        raise PermissionDenied("这是其他工作人员的对话，不能代为发言", hint="请开始一个新对话")


def check_serving(employee: Employee, principal: Principal | None = None) -> None:
    """On duty serves everyone; on trial only named staff (pass ``principal`` to allow it).

    Checked on every turn, so an employee suspended meanwhile stops answering in open
    conversations too.
    """
    if employee.status == "on_duty":
        return
    if employee.status == "trial" and principal is not None and principal.user_id is not None:
        return
    label = service.STATE_LABELS.get(employee.status, employee.status)
    raise Conflict(
        f"数智员工 {employee.slug} 当前为“{label}”状态，不能接待", hint="请联系部门管理员"
    )


def _departments(session: Session) -> dict[int, Department]:
    return {d.id: d for d in session.scalars(select(Department))}


def _public(row: Employee, departments: dict[int, Department]) -> dict[str, Any]:
    dept = departments.get(row.department_id) if row.department_id is not None else None
    return {
        "id": row.slug,
        "name": row.name,
        "department": DepartmentPublic(id=dept.id, code=dept.code, name=dept.name)
        if dept
        else None,
        "status": row.status,
        "status_label": service.STATE_LABELS.get(row.status, row.status),
        "version": row.current_version,
        "model_name": f"employee:{row.slug}",
    }


def _detail(session: Session, row: Employee) -> dict[str, Any]:
    definition = service.load(session, row.slug).definition
    versions = session.scalars(
        select(EmployeeVersion)
        .where(EmployeeVersion.employee_id == row.id)
        .order_by(EmployeeVersion.version)
    )
    return {
        **_public(row, _departments(session)),
        "role": definition.role,
        "greeting": definition.greeting,
        "audience": definition.audience,
        "model": definition.model,
        "skills": definition.skills,
        "knowledge_bases": definition.knowledge_bases,
        "scenarios": definition.scenarios,
        "next_states": sorted(service.TRANSITIONS[row.status]),
        "definition": definition.model_dump(mode="json"),
        "versions": [
            VersionPublic(version=v.version, created_by=v.created_by, created_at=v.created_at)
            for v in versions
        ],
    }


# -- employees ---------------------------------------------------------------------------------


@router.get("/employees", response_model=list[EmployeePublic])
def list_employees(
    principal: Annotated[Principal, require("employee.read")],
    session: DbSession,
    status: str | None = None,
) -> list[EmployeePublic]:
    rows = service.list_employees(session, principal.visible_departments("employee.read"))
    departments = _departments(session)
    return [
        EmployeePublic(**_public(r, departments))
        for r in rows
        if status is None or r.status == status
    ]


@router.get("/employees/{slug}", response_model=EmployeeDetail)
def read_employee(
    slug: str, principal: Annotated[Principal, require("employee.read")], session: DbSession
) -> EmployeeDetail:
    row = visible_employee(session, slug, principal, "employee.read")
    return EmployeeDetail(**_detail(session, row))


@router.post("/employees", response_model=EmployeeApplied)
def apply_employee(
    body: EmployeeCreate,
    response: Response,
    principal: Annotated[Principal, require("employee.write")],
    session: DbSession,
) -> EmployeeApplied:
    """Create an employee, or add a version when the definition changed (201 when created)."""
    definition = _definition(body)
    existing = session.scalar(select(Employee).where(Employee.slug == definition.id))
    _check_write_scope(session, principal, definition, existing)
    _check_server_side(definition, principal)
    _check_knowledge(session, definition)
    before = existing.current_version if existing is not None else None
    row = service.apply_definition(session, definition, principal.name)
    if existing is None:
        response.status_code = 201
    return EmployeeApplied(**_detail(session, row), changed=row.current_version != before)


def _definition(body: EmployeeCreate) -> EmployeeDefinition:
    if body.yaml is not None:
        data, node = parse_yaml(body.yaml, "YAML")
    elif body.definition is not None:
        data, node = body.definition, None
    else:
        raise InvalidInput(
            "请提供员工定义：definition（JSON 对象）或 yaml（YAML 全文）",
            hint="格式见 docs/employees.md 与 src/shuzhi/employees/definitions/",
        )
    if not isinstance(data, dict):
        raise InvalidInput("员工定义应是一个键值映射（YAML 对象）")
    try:
        return definition_from_data(data, "YAML" if node is not None else "JSON", node)
    except InvalidInput as exc:
        if isinstance(exc.__cause__, ValidationError):
            exc.detail["fields"] = [_field_problem(e, node) for e in exc.__cause__.errors()]
        raise


def _field_problem(error: Any, node: Any) -> dict[str, Any]:
    loc = tuple(error["loc"])
    return {
        "field": ".".join(str(p) for p in loc) or "（整个定义）",
        "line": line_of(node, loc) if node is not None else None,
        "problem": str(error["msg"]).removeprefix("Value error, "),
    }


def _check_server_side(definition: EmployeeDefinition, principal: Principal) -> None:
    parts = service.server_side_parts(definition, can_manage_models=principal.can("model.manage"))
    if not parts:
        return
    error = PermissionDenied(
        "员工定义中有只能由系统管理员以文件安装的部分：" + "；".join(m for _, m in parts),
        hint="去掉这些字段，或请系统管理员用 shuzhi employees apply 安装",
    )
    error.detail["fields"] = [
        {"field": ".".join(str(p) for p in path), "line": None, "problem": message}
        for path, message in parts
    ]
    raise error


def _check_knowledge(session: Session, definition: EmployeeDefinition) -> None:
    problems = service.knowledge_problems(session, definition)
    if problems:
        error = InvalidInput("；".join(m for _, m in problems), hint="修改 knowledge_bases 后重试")
        error.detail["fields"] = [
            {"field": f"knowledge_bases.{i}", "line": None, "problem": m} for i, m in problems
        ]
        raise error


def _check_write_scope(
    session: Session,
    principal: Principal,
    definition: EmployeeDefinition,
    existing: Employee | None,
) -> None:
    code = definition.department.code
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None and principal.visible_departments("employee.write") is not None:
        raise PermissionDenied(
            f"部门 {code} 尚不存在，只有全局管理员能随员工定义新建部门",
            hint="department.code 填本部门的编码，或请系统管理员先建部门",
        )
    if dept is not None and not principal.can("employee.write", dept.id):
        raise PermissionDenied(f"不能为其他部门（{dept.name}）定义数智员工")
    if existing is not None and not principal.can("employee.write", existing.department_id):
        raise PermissionDenied(f"数智员工 {existing.slug} 属于其他部门，不能修改")


@router.post("/employees/{slug}/transition", response_model=EmployeePublic)
def transition_employee(
    slug: str,
    body: TransitionRequest,
    request: Request,
    principal: Annotated[Principal, require("employee.lifecycle")],
    session: DbSession,
) -> EmployeePublic:
    """Move the employee to ``state``; going on duty runs its evaluation gate (409 if it fails)."""
    row = visible_employee(session, slug, principal, "employee.read")
    if not principal.can("employee.lifecycle", row.department_id):
        raise PermissionDenied(f"不能变更其他部门数智员工 {slug} 的状态")
    try:
        row = service.transition(
            session, slug, body.state, principal.name, body.reason, source_ip=client_ip(request)
        )
    except Conflict:
        session.commit()  # keep the audit record of the refused transition
        raise
    return EmployeePublic(**_public(row, _departments(session)))


# -- conversations -----------------------------------------------------------------------------


@router.post("/employees/{slug}/conversations", response_model=ConversationPublic, status_code=201)
def start_conversation(
    slug: str,
    request: Request,
    principal: Annotated[Principal, require("employee.chat")],
    session: DbSession,
) -> ConversationPublic:
    """Open a conversation; the answer holds the greeting. Trial employees serve named staff."""
    row = visible_employee(session, slug, principal, "employee.chat")
    check_serving(row, principal)
    # The runtime writes in transactions of its own: release this one's SQLite write lock first.
    session.commit()
    public_id = employee_runtime(request).start(slug, channel="api", user_id=principal.user_id)
    return conversation_public(session, visible_conversation(session, public_id, principal))


@router.get("/conversations/{public_id}", response_model=ConversationPublic)
def read_conversation(
    public_id: str, principal: Annotated[Principal, require("employee.chat")], session: DbSession
) -> ConversationPublic:
    return conversation_public(session, visible_conversation(session, public_id, principal))


def conversation_public(session: Session, conversation: Conversation) -> ConversationPublic:
    employee = session.get(Employee, conversation.employee_id) if conversation.employee_id else None
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
    )
    return ConversationPublic(
        id=conversation.public_id,
        employee=employee.slug if employee else None,
        employee_version=conversation.employee_version,
        department_id=conversation.department_id,
        channel=conversation.channel,
        status=conversation.status,
        satisfaction=conversation.satisfaction,
        created_at=conversation.created_at,
        messages=[_message(m) for m in messages],
    )


def _message(m: Message) -> MessagePublic:
    return MessagePublic(
        id=m.id,
        role=m.role,
        author=m.author_kind,
        content=m.content,
        mode=m.mode,
        label=message_label(m),
        model=m.model,
        sources=m.sources or [],
        tool_calls=m.tool_calls or [],
        created_at=m.created_at,
    )


def message_label(m: Message) -> str | None:
    """The visible label of a stored answer: AI answers by their mode, a person's reply as
    reviewed; the citizen's words and system notices carry none."""
    if m.role != "assistant":
        return None
    if m.author_kind == "ai":
        return visible_label(m.mode)
    return visible_label(Mode.HUMAN) if m.author_kind == "human" else None


@router.post("/conversations/{public_id}/messages", response_model=TurnPublic)
async def send_message(
    public_id: str,
    body: TurnRequest,
    request: Request,
    principal: Annotated[Principal, require("employee.chat")],
    session: DbSession,
) -> Any:
    """One turn. With ``stream: true`` or ``Accept: text/event-stream``: ``delta`` events with
    text as it is written (a ``reset`` event: discard the text shown so far, the answer starts
    again), then one ``turn`` event with the recorded answer."""
    conversation = visible_conversation(session, public_id, principal)
    check_may_continue(conversation, principal)
    employee = session.get(Employee, conversation.employee_id)
    if employee is None:
        raise NotFound("对话所属的数智员工不存在")
    check_serving(employee, principal)
    session.commit()  # the runtime writes in its own transactions (see start_conversation)
    runtime = employee_runtime(request)
    if not (body.stream or "text/event-stream" in request.headers.get("accept", "")):
        return TurnPublic.of(await runtime.reply(public_id, body.text))
    events = _sse_events(runtime.stream(public_id, body.text))
    first = await anext(events)  # a mistake before any output is an ordinary HTTP error
    return StreamingResponse(_prepend(first, events), media_type="text/event-stream")


async def _sse_events(events: AsyncIterator[Event]) -> AsyncIterator[str]:
    turn: Turn | None = None
    async for event in events:
        if isinstance(event, Turn):
            turn = event  # sent once the runtime has finished recording it
        elif isinstance(event, StreamReset):
            yield _sse("reset", {})
        else:
            yield _sse("delta", {"content": event})
    if turn is not None:
        yield _sse("turn", TurnPublic.of(turn).model_dump(mode="json"))


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    try:
        async for event in rest:
            yield event
    except ShuzhiError as exc:
        # The status line is already sent; the client reads the error as an event.
        yield _sse("error", {"error": exc.to_dict()})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
