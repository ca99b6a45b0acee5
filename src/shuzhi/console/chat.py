"""The console's test chat with a digital employee.

Until the employee runtime (``shuzhi.employees``) answers for itself, a test chat answers from
the knowledge bases named in the employee's current definition: through the gateway when a
model endpoint is configured, otherwise as cited extracts labelled offline. Each turn is stored
as a conversation with its sources, model and mode, so it can be rated and audited like any other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.aigc import Mode
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import Conversation, Employee, EmployeeVersion, Message

NO_KNOWLEDGE = "该数智员工尚未配置知识库，无法作答。请在员工定义中添加 knowledge_bases。"


@dataclass
class Turn:
    question: str
    answer: str
    mode: str
    model: str | None = None
    citations: list[str] = field(default_factory=list)


def employee_for_chat(session: Session, slug: str, principal: Principal) -> Employee:
    employee = session.scalar(select(Employee).where(Employee.slug == slug))
    if employee is None:
        raise NotFound(f"数智员工 {slug} 不存在", hint="在“数智员工”页面查看已有员工")
    if not principal.can("employee.chat", employee.department_id):
        raise PermissionDenied("您不能与其他部门的数智员工对话")
    return employee


def definition_of(session: Session, employee: Employee) -> dict[str, Any]:
    version = session.scalar(
        select(EmployeeVersion).where(
            EmployeeVersion.employee_id == employee.id,
            EmployeeVersion.version == employee.current_version,
        )
    )
    return dict(version.definition) if version is not None else {}


def answer(request: Request, employee: Employee, definition: dict[str, Any], text: str) -> Turn:
    """Answer one question from the employee's knowledge bases (model or offline)."""
    from shuzhi.console.area_pages import knowledge_service

    question = text.strip()
    if not question:
        raise InvalidInput("请输入问题")
    bases = [str(b) for b in definition.get("knowledge_bases") or []]
    if not bases:
        return Turn(question, NO_KNOWLEDGE, Mode.OFFLINE.value)
    reply = knowledge_service(request).ask(bases, question, _gateway(request))
    citations = [p.citation for p in reply.citations]
    return Turn(question, reply.text, Mode(reply.mode).value, reply.model, citations)


def _gateway(request: Request) -> Any:
    from shuzhi.api.routes.openai_compat import get_gateway

    gateway = get_gateway(request)
    return gateway if gateway.available() else None


def record(
    session: Session, employee: Employee, principal: Principal, turn: Turn, public_id: str = ""
) -> Conversation:
    """Store the turn in its conversation (a new one when ``public_id`` is empty or unknown)."""
    conversation = None
    if public_id:
        conversation = session.scalar(
            select(Conversation).where(Conversation.public_id == public_id)
        )
    if conversation is None or conversation.employee_id != employee.id:
        conversation = Conversation(
            public_id=str(uuid.uuid4()), employee_id=employee.id,
            employee_version=employee.current_version, department_id=employee.department_id,
            user_id=principal.user_id, channel="console-test",
        )  # fmt: skip
        session.add(conversation)
        session.flush()
    session.add(Message(conversation_id=conversation.id, role="user", author_kind="human",
                        content=turn.question, mode=Mode.HUMAN.value))  # fmt: skip
    session.add(Message(
        conversation_id=conversation.id, role="assistant", author_kind="ai", content=turn.answer,
        model=turn.model, mode=turn.mode, sources=[{"citation": c} for c in turn.citations],
    ))  # fmt: skip
    session.flush()
    return conversation
