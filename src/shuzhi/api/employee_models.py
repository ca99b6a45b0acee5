"""Digital employees on ``/v1``: every employee on duty is a model named ``employee:<id>``.

The employees are read from the database on every call (a virtual-model source), so an employee
suspended through one server process stops answering in all of them, and one going on duty shows
in ``/v1/models`` at once. A caller sees the employees of the departments it may chat with.

An OpenAI client is stateless; the conversation is not. The last user message of a request is the
turn (earlier messages are not replayed: the stored conversation is the history). The reply's
``X-Shuzhi-Conversation`` header names the conversation; send it back — as that request header, as
``conversation`` in the body (``extra_body``), or as ``user`` — to continue it. Without one, a new
conversation starts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.api.deps import ModelCall, current_model_call, employee_runtime, get_db
from shuzhi.api.routes.employees import (
    check_may_continue,
    check_serving,
    visible_conversation,
    visible_employee,
)
from shuzhi.employees import Turn, service
from shuzhi.employees.runtime import StreamReset
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.gateway import ChatChunk, ChatRequest, ChatResult, Usage, VirtualModel
from shuzhi.storage.models import Conversation, Employee

PREFIX = "employee:"
CONVERSATION_HEADER = "X-Shuzhi-Conversation"
RESTART_NOTICE = "\n\n（以上回答中断，以下重新作答）\n\n"


class EmployeeModels:
    """The employees as virtual models (a source for ``register_virtual_source``)."""

    def find(self, name: str) -> VirtualModel | None:
        """The employee behind ``employee:<id>``. Names under ``employee:`` are ours alone: one
        the caller cannot see is not found here rather than passed on to the model endpoints."""
        call = current_model_call()
        if call is None or not name.startswith(PREFIX):
            return None
        with get_db(call.request).session() as session:
            row = visible_employee(
                session, name.removeprefix(PREFIX), call.principal, "employee.chat"
            )
            return _model(call, row.slug, row.name)

    def models(self) -> list[VirtualModel]:
        call = current_model_call()
        if call is None:
            return []
        query = select(Employee).where(Employee.status == "on_duty").order_by(Employee.slug)
        visible = call.principal.visible_departments("employee.chat")
        if visible is not None:
            query = query.where(Employee.department_id.in_(visible))
        with get_db(call.request).session() as session:
            return [_model(call, row.slug, row.name) for row in session.scalars(query)]


def _model(call: ModelCall, slug: str, name: str) -> VirtualModel:
    bridge = _Bridge(call, slug)
    return VirtualModel(
        f"{PREFIX}{slug}", bridge.chat, bridge.stream, description=f"数智员工：{name}"
    )


@dataclass
class _Bridge:
    """One OpenAI request onto one turn of an employee conversation."""

    call: ModelCall
    slug: str

    async def chat(self, request: ChatRequest) -> ChatResult:
        started = time.perf_counter()
        public_id, text = self._open(request)
        turn = await employee_runtime(self.call.request).reply(public_id, text)
        return _result(turn, self.slug, started)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        started = time.perf_counter()
        public_id, text = self._open(request)
        shown, turn = "", None
        async for event in employee_runtime(self.call.request).stream(public_id, text):
            if isinstance(event, Turn):
                turn = event  # yielded once the runtime has finished recording it
            elif isinstance(event, StreamReset):
                shown = ""
                yield ChatChunk(content=RESTART_NOTICE)
            else:
                shown += event
                yield ChatChunk(content=event)
        assert turn is not None
        result = _result(turn, self.slug, started)
        yield ChatChunk(content=_rest(turn.content, shown), finish_reason="stop", result=result)

    def _open(self, request: ChatRequest) -> tuple[str, str]:
        """The conversation to answer in (continued or new) and the turn's text."""
        text = last_user_text(request.messages)
        principal = self.call.principal
        with get_db(self.call.request).session() as session:
            row = visible_employee(session, self.slug, principal, "employee.chat")
            check_serving(row)  # on duty only: /v1 is no place to try out an employee on trial
            public_id = self._continued(session, row, request)
        if public_id is None:
            runtime = employee_runtime(self.call.request)
            public_id = runtime.start(self.slug, channel="openai", user_id=principal.user_id)
        self.call.reply_headers[CONVERSATION_HEADER] = public_id
        return public_id, text

    def _continued(self, session: Session, row: Employee, request: ChatRequest) -> str | None:
        asked = self.call.request.headers.get(CONVERSATION_HEADER) or request.extra.get(
            "conversation"
        )
        if asked:
            conversation = visible_conversation(session, str(asked), self.call.principal)
            if not _belongs(session, conversation, row):
                raise Conflict(
                    f"对话 {asked} 不属于数智员工 {row.slug}",
                    hint=f"不带对话编号即可与 {PREFIX}{row.slug} 开始新对话",
                )
            check_may_continue(conversation, self.call.principal)
            return conversation.public_id
        return self._by_user_field(session, row)

    def _by_user_field(self, session: Session, row: Employee) -> str | None:
        # ``user`` is often an end-user id rather than a conversation: use it only when it is one.
        user = self.call.user
        found = user and session.scalar(select(Conversation).where(Conversation.public_id == user))
        if not found or not _belongs(session, found, row):
            return None
        if found.user_id is not None and found.user_id != self.call.principal.user_id:
            return None
        visible = self.call.principal.visible_departments("employee.chat")
        return found.public_id if visible is None or found.department_id in visible else None


def _belongs(session: Session, conversation: Conversation, row: Employee) -> bool:
    """The employee's own conversation, or one the front desk has handed on to another."""
    if conversation.employee_id == row.id:
        return True
    return service.load(session, row.slug).definition.front_desk


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                str(p.get("text", ""))
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        if isinstance(content, str) and content.strip():
            return content
        break
    raise InvalidInput(
        "messages 中没有可回答的用户消息（最后一条 user 消息缺失或为空）",
        hint='例如 [{"role": "user", "content": "社保怎么交"}]',
    )


def _rest(full: str, shown: str) -> str:
    """What the client has not seen yet of the recorded answer."""
    if full.startswith(shown):
        return full[len(shown) :]
    # The recorded answer differs from the streamed text (an output guardrail, or an offline
    # answer after the model failed mid-way): send the recorded one in full after it.
    return "\n\n" + full


def _result(turn: Turn, slug: str, started: float) -> ChatResult:
    # Token usage of the model call is recorded by the gateway under the employee as caller.
    return ChatResult(
        content=turn.content,
        reasoning=None,
        tool_calls=[],
        finish_reason="stop",
        endpoint=f"{PREFIX}{slug}",
        model=turn.model or turn.mode.value,
        alias=None,
        usage=Usage(),
        cost=0.0,
        currency="CNY",
        masked_count=0,
        latency_ms=(time.perf_counter() - started) * 1000,
        request_id=uuid.uuid4().hex,
    )
