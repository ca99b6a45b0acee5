"""Handoff to a person (转人工) and how the conversation continues with the person's decision.

A handoff queues a review task in the conversation's department with a deadline. The task keeps
the AI's proposal (the citizen's question, the reason, and a draft answer when the employee had
one); the reviewer accepts the draft, edits it or rejects it with a reason. Whatever the
outcome, the citizen then sees the person's answer in the conversation as a message written by a
human, and the employee takes the conversation back (PIPL Art. 24: the decision is the person's,
and the AI proposal stays beside it in the task).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shuzhi.aigc import Mode, visible_label
from shuzhi.employees.skills import SkillContext
from shuzhi.platform.review import create_review_task, on_decision
from shuzhi.storage.models import Conversation, Message, ReviewTask

REVIEW_KIND = "handoff"


def request_handoff(ctx: SkillContext, reason: str, question: str = "", draft: str = "") -> int:
    """Queue the conversation for a person once per handoff; returns the review task id."""
    if ctx.handed_off:
        return ctx.handed_off
    proposal = {
        "employee": ctx.employee_slug,
        "reason": reason,
        "question": question,
        "answer": draft,
    }
    task = create_review_task(
        ctx.session,
        ctx.department_id,
        REVIEW_KIND,
        "conversation",
        ctx.conversation_id,
        f"转人工：{reason[:80]}",
        proposal,
        due_in_hours=ctx.handoff_hours,
        conversation_id=ctx.conversation_id,
    )
    conversation = ctx.session.get(Conversation, ctx.conversation_id)
    if conversation is not None:
        conversation.status = "handed_off"
    ctx.handed_off = task.id
    return task.id


def _answer(task: ReviewTask) -> str:
    content = (task.decision or {}).get("content")
    if isinstance(content, dict):
        return str(content.get("answer") or content.get("content") or "").strip()
    return str(content or "").strip()


def human_reply(task: ReviewTask) -> str:
    """What the citizen reads once a person decided the handoff task."""
    if task.status == "rejected":
        return f"经工作人员审核，未采纳系统的拟答复。工作人员说明：{task.reason or ''}"
    answer = _answer(task)
    if answer:
        return answer
    note = f"说明：{task.reason}" if task.reason else "如有其他问题请继续留言。"
    return f"工作人员已处理您的问题。{note}"


def continue_conversation(session: Session, task: ReviewTask) -> None:
    """The ``on_decision`` callback: post the person's answer and hand the conversation back."""
    conversation = session.get(Conversation, task.conversation_id or int(task.subject_id))
    if conversation is None:
        return
    source: dict[str, Any] = {
        "kind": "review",
        "review_task_id": task.id,
        "decision": task.status,
        "decided_by": task.decided_by_name,
    }
    session.add(
        Message(
            conversation_id=conversation.id,
            role="assistant",
            author_kind="human",
            content=f"{human_reply(task)}\n\n{visible_label(Mode.HUMAN)}",
            mode=Mode.HUMAN.value,
            sources=[source],
            tool_calls=[],
            tokens=0,
        )
    )
    conversation.status = "open"
    session.flush()


on_decision(REVIEW_KIND, continue_conversation)
