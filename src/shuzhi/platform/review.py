"""Review queues (人机协同): the AI proposes, a named person decides.

Anything with legal effect waits here for a person holding ``review.decide`` in the task's
department (PIPL Art. 24: a person may refuse a decision made solely by automated means, so a
human decision with a reason is kept beside the AI proposal). Other concerns call
:func:`create_review_task`, register what a decision should do with :func:`on_decision` and
what it must meet first with :func:`check_decision`; this module checks, records, audits and
enforces deadlines.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shuzhi.cn.calendar import default_calendar
from shuzhi.cn.clock import CHINA
from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import ReviewTask
from shuzhi.validation import control_problem

log = logging.getLogger(__name__)

DecisionCallback = Callable[[Session, ReviewTask], None]
_callbacks: dict[str, DecisionCallback] = {}
_F = TypeVar("_F")

# Modules that register decision callbacks, declared in pyproject.toml, so that any process
# deciding a task (the API, the console, `shuzhi reviews decide`, a worker) acts on it even if it
# never imported the module that created it.
HANDLER_GROUP = "shuzhi.review_handlers"

DEFAULT_DUE_HOURS = 24


class Status(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


# The console's words for the same statuses (review_status.* in console/messages.yaml).
STATUS_LABELS_ZH: dict[str, str] = {
    Status.PENDING: "待复核",
    Status.ACCEPTED: "已采纳",
    Status.EDITED: "已修改采纳",
    Status.REJECTED: "已退回",
}


class Action(StrEnum):
    ACCEPT = "accept"
    EDIT = "edit"
    REJECT = "reject"


_OUTCOME = {
    Action.ACCEPT: Status.ACCEPTED,
    Action.EDIT: Status.EDITED,
    Action.REJECT: Status.REJECTED,
}


def on_decision(kind: str, callback: DecisionCallback | None = None) -> Any:
    """Register what to do when a person decides a task of ``kind``.

    Use directly (``on_decision("dispatch", apply_dispatch)``) or as a decorator. The callback
    runs inside the deciding transaction for every outcome; it reads ``task.status``
    (``accepted`` / ``edited`` / ``rejected``) and ``task.decision["content"]`` (the proposal as
    accepted or as edited). If it raises, the decision is rolled back with it.
    """

    def register(fn: DecisionCallback) -> DecisionCallback:
        _callbacks[kind] = fn
        return fn

    return register(callback) if callback is not None else register


# -- checks before a decision is recorded ----------------------------------------------------

# The longest reason kept with a decision (a reason explains the decision; the content is edited).
MAX_REASON = 2000


@dataclass(frozen=True)
class Problem:
    """One thing to fix before a decision can be recorded.

    ``field`` is the input it concerns: ``reason`` or a key of the edited content; ``label``
    names it for a person (``分类``); ``message`` says what to do, as the console shows it next
    to that input.
    """

    field: str
    message: str
    label: str = ""

    def __str__(self) -> str:
        named = f"{self.label}（{self.field}）" if self.label else self.field
        return f"{named}：{self.message}"


DecisionCheck = Callable[[ReviewTask, "Action", Any], list[Problem]]
_checks: dict[str, DecisionCheck] = {}


class DecisionProblems(InvalidInput):
    """The decision was refused and nothing was recorded; ``problems`` lists what to fix."""

    def __init__(self, problems: list[Problem]) -> None:
        listed = [{"field": p.field, "problem": p.message} for p in problems]
        summary = "；".join(str(p) for p in problems)
        super().__init__(f"复核决定未记录，请修改后再提交：{summary}", problems=listed)
        self.problems = problems


def check_decision(kind: str, check: DecisionCheck | None = None) -> Any:
    """Register the rules a decision on a task of ``kind`` must meet before it is recorded.

    ``check(task, action, content)`` gets the content the decision would record (the proposal
    when accepted, the edited content when edited, None when rejected) and returns the problems,
    none when the decision may go ahead. Use directly or as a decorator, like :func:`on_decision`.
    """

    def register(fn: DecisionCheck) -> DecisionCheck:
        _checks[kind] = fn
        return fn

    return register(check) if check is not None else register


def decision_problems(
    task: ReviewTask, action: Action | str, reason: str, edited: dict[str, Any] | None
) -> list[Problem]:
    """Everything that stops this decision from being recorded: the reason's form, the edited
    content's form (JSON a database keeps), then the rules of the task's kind for the fields
    whose form is sound."""
    action = _parse_action(action)
    problems = _reason_problems(reason)
    if action is Action.EDIT and isinstance(edited, dict):
        problems += [p for key, item in edited.items() for p in _json_problems(str(key), item)]
    unsound = {p.field for p in problems}
    check = _handler(_checks, task.kind)
    if check is not None:
        content = task.proposal if action is Action.ACCEPT else edited
        problems += [p for p in check(task, action, content) if p.field not in unsound]
    return problems


def _reason_problems(reason: str) -> list[Problem]:
    problem = control_problem(reason, multiline=True)
    if problem is None and len(reason.strip()) > MAX_REASON:
        problem = f"最多 {MAX_REASON} 个字符（现有 {len(reason.strip())} 个），请写明要点"
    return [Problem("reason", problem, "理由")] if problem else []


def _json_problems(field: str, value: Any, path: str = "") -> list[Problem]:
    """NaN and Infinity (not JSON; PostgreSQL refuses them) and control characters (PostgreSQL
    refuses NUL) in the content's ``field``; ``path`` is where inside it."""
    where = f"{path} " if path else ""
    problem = control_problem(field) if not path else None
    if problem is not None:
        return [Problem(repr(field), f"键名{problem}")]
    if isinstance(value, float) and not math.isfinite(value):
        number = json.dumps(value)
        message = f"{where}值是 {number}，JSON 不能含 NaN 或 Infinity，请改为具体数字或删去此项"
        return [Problem(field, message)]
    if isinstance(value, str):
        problem = control_problem(value, multiline=True)
        return [Problem(field, f"{where}{problem}")] if problem else []
    if isinstance(value, dict):
        named = [k for k in value if control_problem(str(k)) is not None]
        if named:
            problem = control_problem(str(named[0]))
            return [Problem(field, f"{path or field} 中的键名 {str(named[0])!r} {problem}")]
        items = [(f"{path or field}.{k}", v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{path or field}[{i}]", v) for i, v in enumerate(value)]
    else:
        return []
    return [p for inner, item in items for p in _json_problems(field, item, inner)][:1]


def _due(now: datetime, due_at: datetime | None, hours: float | None, days: int | None) -> datetime:
    if due_at is not None:
        if due_at.tzinfo is None:
            raise InvalidInput("due_at 须带时区", hint="使用 shuzhi.storage.utcnow() 计算时间")
        return due_at
    if days is not None:
        return working_days_after(now, days)
    return now + timedelta(hours=hours if hours is not None else DEFAULT_DUE_HOURS)


def working_days_after(start: datetime, days: int) -> datetime:
    """The end of the day ``days`` working days after ``start``, in Beijing time."""
    local = start.astimezone(CHINA)
    due = default_calendar().add_working_days(local.date(), days).date
    return datetime.combine(due, time(23, 59, 59), tzinfo=CHINA).astimezone(UTC)


def create_review_task(
    session: Session,
    department_id: int | None,
    kind: str,
    subject_type: str,
    subject_id: str | int,
    title: str,
    proposal: dict[str, Any],
    *,
    due_in_hours: float | None = None,
    due_in_working_days: int | None = None,
    due_at: datetime | None = None,
    proposed_by: str = "ai",
    assignee_id: int | None = None,
    conversation_id: int | None = None,
) -> ReviewTask:
    """Queue a proposal for a person. The deadline defaults to 24 hours from now."""
    if not kind or not subject_type:
        raise InvalidInput("复核任务须注明 kind 与 subject_type")
    task = ReviewTask(
        department_id=department_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=str(subject_id),
        title=title[:500],
        proposal=proposal,
        proposed_by=proposed_by,
        status=Status.PENDING.value,
        due_at=_due(utcnow(), due_at, due_in_hours, due_in_working_days),
        assignee_id=assignee_id,
        conversation_id=conversation_id,
    )
    session.add(task)
    session.flush()
    audit(
        session,
        "review.create",
        actor=proposed_by,
        actor_kind="ai" if proposed_by == "ai" else "system",
        target=f"review:{task.id}",
        department_id=department_id,
        kind=kind,
        subject=f"{subject_type}:{subject_id}",
    )
    return task


@dataclass(frozen=True)
class Queue:
    """A filter on review tasks. ``departments=None`` means every department."""

    departments: set[int] | None = None
    status: str | None = Status.PENDING.value
    overdue_only: bool = False
    kind: str | None = None


def _queue_query(queue: Queue, now: datetime) -> Select[ReviewTask]:
    query = select(ReviewTask)
    if queue.departments is not None:
        query = query.where(ReviewTask.department_id.in_(queue.departments))
    if queue.status:
        query = query.where(ReviewTask.status == queue.status)
    if queue.kind:
        query = query.where(ReviewTask.kind == queue.kind)
    if queue.overdue_only:
        query = query.where(ReviewTask.status == Status.PENDING, ReviewTask.due_at < now)
    return query


def list_tasks(
    session: Session, queue: Queue, *, limit: int = 200, offset: int = 0
) -> list[ReviewTask]:
    """Tasks in the queue, the most urgent (earliest deadline) first; ``offset`` skips as many
    for the pages after the first."""
    query = _queue_query(queue, utcnow()).order_by(ReviewTask.due_at.asc(), ReviewTask.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


def count_tasks(session: Session, queue: Queue) -> int:
    """How many tasks the queue holds, however many a page shows."""
    query = _queue_query(queue, utcnow()).with_only_columns(func.count())
    return session.scalar(query) or 0


def queue_for(principal: Principal, **filters: Any) -> Queue:
    """The queue ``principal`` may see: their departments for ``review.read``."""
    return Queue(departments=principal.visible_departments("review.read"), **filters)


def backlog(session: Session, departments: set[int] | None = None) -> tuple[int, int]:
    """(pending, overdue) counts, for dashboards and metrics."""
    now = utcnow()
    pending = _queue_query(Queue(departments), now).with_only_columns(func.count())
    overdue = _queue_query(Queue(departments, overdue_only=True), now).with_only_columns(
        func.count()
    )
    return session.scalar(pending) or 0, session.scalar(overdue) or 0


def get_task(session: Session, task_id: int, principal: Principal | None = None) -> ReviewTask:
    task = session.get(ReviewTask, task_id)
    if task is None or (
        principal is not None and not principal.can("review.read", task.department_id)
    ):
        raise NotFound(f"复核任务 {task_id} 不存在", hint="刷新复核队列后重试")
    return task


def _check_decider(task: ReviewTask, principal: Principal) -> None:
    if principal.user_id is None:
        # A decision with legal effect needs a named person, never a system key.
        raise PermissionDenied("复核决定须由具名工作人员作出", hint="请用个人账号登录控制台")
    if not principal.can("review.decide", task.department_id):
        raise PermissionDenied("您不能复核其他部门的任务", hint="请联系部门管理员")
    if task.assignee_id is not None and task.assignee_id != principal.user_id:
        raise PermissionDenied("此任务已指定其他复核人", hint="请联系部门管理员改派")


def _decision_content(task: ReviewTask, action: Action, edited: dict[str, Any] | None) -> Any:
    if action is Action.EDIT:
        if not edited:
            raise InvalidInput("修改后采纳时须提供修改后的内容")
        return edited
    if action is Action.ACCEPT:
        return task.proposal
    return None


def decide(
    session: Session,
    task_id: int,
    principal: Principal,
    action: Action | str,
    *,
    reason: str = "",
    edited: dict[str, Any] | None = None,
    source_ip: str | None = None,
) -> ReviewTask:
    """Accept, edit or reject a pending task. Edits and rejections need a reason."""
    action = _parse_action(action)
    task = get_task(session, task_id, principal)
    _check_decider(task, principal)
    if task.status != Status.PENDING:
        label = STATUS_LABELS_ZH.get(task.status, task.status)
        raise Conflict(f"复核任务 {task_id} 已处理（{label}），不能再次决定", hint="刷新复核队列")
    if action is not Action.ACCEPT and not reason.strip():
        raise InvalidInput("修改或退回时须填写理由", hint="在“理由”一栏说明原因")

    content = _decision_content(task, action, edited)
    problems = decision_problems(task, action, reason, edited)
    if problems:
        raise DecisionProblems(problems)
    now = utcnow()
    task.status = _OUTCOME[action].value
    task.decision = {"action": action.value, "content": content, "by": principal.name}
    task.decided_by = principal.user_id
    task.decided_by_name = principal.name
    task.decided_at = now
    task.reason = reason.strip() or None
    session.flush()

    _run_callback(session, task)
    audit(
        session,
        "review.decide",
        actor=principal.name,
        target=f"review:{task.id}",
        department_id=task.department_id,
        source_ip=source_ip,
        decision=action.value,
        kind=task.kind,
        overdue=bool(task.due_at and task.due_at < now),
    )
    return task


def _parse_action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise InvalidInput(
            f"未知的复核操作：{action}",
            hint="可选 accept（采纳）、edit（修改后采纳）、reject（退回）",
        ) from None


def _handler(registered: dict[str, _F], kind: str) -> _F | None:
    if kind not in registered:
        load_declared_handlers()
    return registered.get(kind)


def _run_callback(session: Session, task: ReviewTask) -> None:
    callback = _handler(_callbacks, task.kind)
    if callback is None:
        log.warning("review task %s of kind %s has no decision handler", task.id, task.kind)
        return
    callback(session, task)


@functools.cache
def load_declared_handlers() -> None:
    """Import every module declared under the ``shuzhi.review_handlers`` entry points, once."""
    for point in entry_points(group=HANDLER_GROUP):
        point.load()


def escalate_overdue(session: Session, *, now: datetime | None = None) -> list[ReviewTask]:
    """Raise the escalation level of every pending task past its deadline, once per lapse.

    A task escalated once is escalated again only when a further full deadline period
    (its original allowance) has passed, so repeated runs are idempotent within a period.
    """
    now = now or utcnow()
    escalated = []
    for task in session.scalars(_queue_query(Queue(overdue_only=True), now)):
        if not _due_for_escalation(task, now):
            continue
        task.escalation_level += 1
        task.escalated_at = now
        escalated.append(task)
        audit(
            session,
            "review.escalate",
            actor="system",
            actor_kind="system",
            target=f"review:{task.id}",
            department_id=task.department_id,
            level=task.escalation_level,
        )
    if escalated:
        log.warning("escalated %d overdue review tasks", len(escalated))
    return escalated


def _due_for_escalation(task: ReviewTask, now: datetime) -> bool:
    if task.due_at is None:
        return False
    if task.escalated_at is None:
        return True
    allowance = max(task.due_at - task.created_at, timedelta(hours=1))
    return now - task.escalated_at >= allowance
