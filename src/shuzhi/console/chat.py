"""The console's test chat with a digital employee, through the employee runtime.

The runtime (``shuzhi.employees``) answers, records the conversation with its sources, model and
mode, and labels the text; the console shows the label, the sources and a satisfaction rating.
"""

from __future__ import annotations

from typing import Any

import anyio.from_thread
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import Conversation, Employee


def employee_for_chat(session: Session, slug: str, principal: Principal) -> Employee:
    employee = session.scalar(select(Employee).where(Employee.slug == slug))
    if employee is None:
        raise NotFound(f"数智员工 {slug} 不存在", hint="在“数智员工”页面查看已有员工")
    if not principal.can("employee.chat", employee.department_id):
        raise PermissionDenied("您不能与其他部门的数智员工对话")
    return employee


def runtime(request: Request) -> Any:
    """The application's one employee runtime, shared with ``/api`` and ``/v1``."""
    from shuzhi.api.deps import employee_runtime

    return employee_runtime(request)


def reply(
    request: Request, session: Session, employee: Employee, principal: Principal, text: str,
    conversation: str,
) -> Any:  # fmt: skip
    """One turn: continue the principal's conversation with this employee, or open one."""
    if not text.strip():
        raise InvalidInput("请输入问题")
    engine = runtime(request)
    if not _own_conversation(session, conversation, employee, principal):
        conversation = engine.start(employee.slug, channel="console", user_id=principal.user_id)
    # The route runs in a worker thread; the runtime is async, so hand it to the event loop.
    return anyio.from_thread.run(engine.reply, conversation, text)


def _own_conversation(
    session: Session, public_id: str, employee: Employee, principal: Principal
) -> bool:
    if not public_id:
        return False
    found = session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    return (
        found is not None and found.employee_id == employee.id
        and found.user_id == principal.user_id
    )  # fmt: skip
