"""Who owns a work order, and what a reviewer's decision does to it.

An order belongs to the department of its handling unit (a department whose name or code is the
unit on the duty list); until it is dispatched, or when no such department exists, it belongs to
the hotline department (the 12345 hotline office, which accepts and dispatches every matter:
Jinan 12345 regulation Art. 11(一), Art. 23). Routes show a person only the orders of their
departments.

Two review kinds act on orders when a named person decides (PIPL Art. 24: the decision with
effect is the person's, kept beside the AI proposal):

- ``hotline_dispatch`` (a low-confidence dispatch): accepted or edited, the order takes the
  category and unit decided and is dispatched to that unit's department; rejected, it goes back
  to the hotline office to be dispatched by hand.
- ``hotline_reply`` (a reply draft): accepted or edited, the reply is approved as decided;
  rejected, the draft is marked rejected and must be redrafted.

A dispatch decision sets the order's ``decided_by`` to ``"human"``; a reply decision marks the
reply's draft as decided by a person. Both keep who decided, when and why in ``details``.

Before anything is recorded, the decision is checked (whichever surface it comes from: the API,
the console, the CLI): an edited dispatch names a category and a unit of the lists the console
offers, and a reply is approved only when it is plain text of a sensible length with no
placeholder of the template left in it.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict
from shuzhi.gateway import Gateway
from shuzhi.platform.audit import audit
from shuzhi.platform.review import (
    Action,
    Problem,
    check_decision,
    create_review_task,
    on_decision,
    working_days_after,
)
from shuzhi.scenarios.hotline.importing import BEIJING
from shuzhi.scenarios.hotline.model_step import reply_writer
from shuzhi.scenarios.hotline.reply import draft_reply, unfilled_placeholder
from shuzhi.scenarios.hotline.rules import Rules, load_rules
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import Department, ReviewTask, WorkOrder
from shuzhi.validation import control_problem

log = logging.getLogger(__name__)

DISPATCH_REVIEW = "hotline_dispatch"
REPLY_REVIEW = "hotline_reply"
HOTLINE_DEPARTMENT = ("hotline", "12345市民服务热线办公室")
# Order statuses a decision leads to.
DISPATCHED = "dispatched"
MANUAL_DISPATCH = "manual_dispatch"
REPLY_PENDING = "pending_approval"
REPLY_APPROVED = "approved"
REPLY_REJECTED = "rejected"
# What a person may change in each kind's proposal, with the field's name for the reader.
DISPATCH_FIELDS = {"category": "分类", "handling_unit": "承办单位"}
REPLY_FIELDS = {"text": "答复内容"}
# The longest reply a person may approve: a reply answers one message, point by point.
MAX_REPLY = 5000


def hotline_department(session: Session) -> Department:
    """The hotline office's department (code ``hotline``), created the first time it is needed."""
    code, name = HOTLINE_DEPARTMENT
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        department = Department(code=code, name=name)
        session.add(department)
        session.flush()
    return department


def unit_departments(session: Session) -> dict[str, int]:
    """Department ids by name and by code, to find a handling unit's department.

    The city's own bureaus are written with the city and without it (the duty list's
    市人力资源和社会保障局 is the department 人力资源和社会保障局), so each name also stands for
    its other spelling; an exact name or code wins over another department's other spelling.
    """
    rows = list(session.execute(select(Department.id, Department.code, Department.name)))
    found: dict[str, int] = {}
    for dept_id, code, name in rows:
        found.setdefault(name, dept_id)
        found.setdefault(code, dept_id)
    for dept_id, _code, name in rows:
        found.setdefault(name[1:] if name.startswith("市") else f"市{name}", dept_id)
    return found


def owning_department(status: str, unit: str | None, units: dict[str, int], hotline: int) -> int:
    """Dispatched orders belong to their unit's department; all others to the hotline office."""
    if status == DISPATCHED and unit:
        return units.get(unit, hotline)
    return hotline


# -- dispatch decisions ----------------------------------------------------------------------


def _order_for(session: Session, task: ReviewTask) -> WorkOrder | None:
    order = session.scalar(select(WorkOrder).where(WorkOrder.code == task.subject_id))
    if order is None:
        log.warning("review task %s names a missing work order", task.id)
    return order


def _decision_record(task: ReviewTask) -> dict[str, Any]:
    return {
        "task": task.id,
        "action": (task.decision or {}).get("action"),
        "status": task.status,
        "by": task.decided_by_name,
        "at": task.decided_at.isoformat() if task.decided_at else None,
        "reason": task.reason,
    }


def _decided_dispatch(task: ReviewTask, rules: Rules) -> tuple[str, str]:
    """The category and unit a person decided; a changed category without a changed unit takes
    the unit from the duty list."""
    proposal = task.proposal or {}
    content = (task.decision or {}).get("content") or {}
    category = str(content.get("category") or proposal.get("category") or "")
    unit = str(content.get("handling_unit") or "")
    if not unit or (category != proposal.get("category") and unit == proposal.get("handling_unit")):
        unit = rules.handling_unit(category)
    return category, unit


def dispatch_categories(proposal: dict[str, Any], rules: Rules) -> list[str]:
    """The categories a dispatch may be decided to, in the console menu's order: the proposal's,
    its candidates', then the duty list's."""
    names = [str(proposal.get("category") or "")]
    for candidate in proposal.get("candidates") or []:
        if isinstance(candidate, list | tuple) and len(candidate) == 2:
            names.append(str(candidate[0]))
    return [n for n in dict.fromkeys([*names, *rules.duty.units]) if n]


def dispatch_units(proposal: dict[str, Any], rules: Rules) -> list[str]:
    """The handling units a dispatch may be decided to: the proposal's, then the duty list's."""
    names = [str(proposal.get("handling_unit") or ""), *rules.duty.units.values()]
    return [n for n in dict.fromkeys([*names, rules.duty.default_unit]) if n]


def check_dispatch_decision(task: ReviewTask, action: Action, content: Any) -> list[Problem]:
    if action is not Action.EDIT or not isinstance(content, dict):
        return []
    proposal = task.proposal or {}
    rules = load_rules()
    problems = _unknown_keys(content, proposal, DISPATCH_FIELDS)
    offered = {
        "category": dispatch_categories(proposal, rules),
        "handling_unit": dispatch_units(proposal, rules),
    }
    for name, choices in offered.items():
        if name in content:
            problem = _choice_problem(content[name], choices)
            if problem is not None:
                problems.append(Problem(name, problem, DISPATCH_FIELDS[name]))
    return problems


def _unknown_keys(
    content: dict[str, Any], proposal: dict[str, Any], fields: dict[str, str]
) -> list[Problem]:
    """A key a person may not change: anything but ``fields``, unless sent back as proposed."""
    allowed = "、".join(f"{label}（{name}）" for name, label in fields.items())
    return [
        Problem(str(key), f"不能修改此项，只能修改{allowed}")
        for key, value in content.items()
        if key not in fields and (key not in proposal or proposal[key] != value)
    ]


def _choice_problem(value: Any, choices: list[str]) -> str | None:
    # The same words as the console form's menus (``console.review_forms``).
    if not isinstance(value, str):
        return f"请从列表中选择（收到 {json.dumps(value, ensure_ascii=False)}，应为列表中的文字）"
    problem = control_problem(value)
    if problem is not None:
        return problem
    if value not in choices:
        return f"请从列表中选择（收到“{value}”）" if value else "请从列表中选择"
    return None


def apply_dispatch_decision(session: Session, task: ReviewTask) -> None:
    order = _order_for(session, task)
    if order is None:
        return
    hotline = hotline_department(session).id
    if task.status == "rejected":
        order.status, order.department_id = MANUAL_DISPATCH, hotline
    else:
        category, unit = _decided_dispatch(task, load_rules())
        if category != order.category:
            order.category_path = [category]
        order.category, order.handling_unit, order.status = category, unit, DISPATCHED
        order.department_id = owning_department(
            DISPATCHED, unit, unit_departments(session), hotline
        )
    order.decided_by = "human"
    order.details = {**(order.details or {}), "dispatch_decision": _decision_record(task)}


# -- reply drafts ----------------------------------------------------------------------------


def review_due(deadline: date | None, now: datetime) -> datetime | None:
    """When a person must decide about an order: by its deadline (18:00 Beijing time), but never
    before the end of the next working day. An order imported after its deadline (old messages
    replayed, a file sent late) is overdue as an order, but its reviewer is not late the moment
    the task exists (and the escalation job must not escalate every such task at once)."""
    if deadline is None:
        return None
    return max(datetime.combine(deadline, time(18), BEIJING), working_days_after(now, 1))


def _reply_due(order: WorkOrder) -> datetime | None:
    return review_due(order.deadline, utcnow())


def request_reply_draft(
    session: Session,
    order: WorkOrder,
    gateway: Gateway | None,
    *,
    actor: str,
    source_ip: str | None = None,
) -> ReviewTask:
    """Draft the order's reply and queue it for approval, audited as ``actor``'s request.

    Written by the model when ``gateway`` has an endpoint, else the offline template with the
    cited rules (labelled as such). An approved reply is not replaced: it may already have gone
    to the citizen, and the approval is a person's decision (the API and the console refuse alike).
    """
    if order.reply_status == REPLY_APPROVED:
        raise Conflict(
            f"工单 {order.code} 的答复已审核通过，不能再起草",
            hint="如需另作答复，请在工单办理系统中补充答复，或联系审核人",
        )
    writer = reply_writer(gateway) if gateway is not None and gateway.available() else None
    draft = draft_reply(
        title=order.title,
        text=order.text,
        requester=order.requester_masked,
        handling_unit=order.handling_unit or "承办单位",
        order_type=order.order_type or "help",
        rules=load_rules(),
        writer=writer,
    )
    task = queue_reply_draft(
        session, order, {**draft.as_dict(), "labelled_text": draft.labelled_text}
    )
    audit(
        session,
        "hotline.reply.draft",
        actor=actor,
        target=order.code,
        department_id=order.department_id,
        source_ip=source_ip,
        mode=draft.mode,
        review=task.id,
    )
    return task


def queue_reply_draft(session: Session, order: WorkOrder, draft: dict[str, Any]) -> ReviewTask:
    """Store a draft on the order, pending approval, and queue it for the unit's reviewer.

    A draft made while an earlier one still waits replaces that one's proposal: nobody has
    decided it yet, and two drafts of one reply must not both be approved.
    """
    order.reply, order.reply_status = draft["labelled_text"], REPLY_PENDING
    order.details = {**(order.details or {}), "reply_draft": {**_public(draft), "by": "ai"}}
    pending = session.scalar(
        select(ReviewTask).where(
            ReviewTask.kind == REPLY_REVIEW,
            ReviewTask.subject_id == order.code,
            ReviewTask.status == "pending",
        )
    )
    if pending is not None:
        pending.proposal = _public(draft)
        return pending
    due = _reply_due(order)
    return create_review_task(
        session,
        order.department_id,
        REPLY_REVIEW,
        "work_order",
        order.code,
        f"答复审核：{order.title or order.text[:40]}",
        _public(draft),
        due_at=due,
        due_in_working_days=None if due else 1,
        proposed_by="ai",
    )


def _public(draft: dict[str, Any]) -> dict[str, Any]:
    keys = ("text", "labelled_text", "mode", "model", "sources", "demands")
    return {k: draft[k] for k in keys if k in draft}


def check_reply_decision(task: ReviewTask, action: Action, content: Any) -> list[Problem]:
    """An approved reply, accepted or edited, is plain text, at most ``MAX_REPLY`` characters,
    with nothing of the template left to fill in."""
    if action is Action.REJECT or not isinstance(content, dict):
        return []
    problems = []
    if action is Action.EDIT:
        problems = _unknown_keys(content, task.proposal or {}, REPLY_FIELDS)
        text = content.get("text")
    else:
        text = content.get("text", content.get("labelled_text"))
    problem = reply_text_problem(text)
    if problem is not None:
        problems.append(Problem("text", problem, REPLY_FIELDS["text"]))
    return problems


def reply_text_problem(text: Any) -> str | None:
    """What stops ``text`` from being approved as a reply, or None."""
    if not isinstance(text, str) or not text.strip():
        return "答复内容不能为空，请写明核实情况、处理结果和完成时限"
    problem = control_problem(text, multiline=True)
    if problem is not None:
        return problem
    if len(text) > MAX_REPLY:
        return f"最多 {MAX_REPLY} 个字符（现有 {len(text)} 个），请精简后再提交"
    left = unfilled_placeholder(text)
    if left is not None:
        return f"答复中还有未填写的模板内容“{left}”，请改为核实情况、处理结果和完成时限"
    return None


def apply_reply_decision(session: Session, task: ReviewTask) -> None:
    order = _order_for(session, task)
    if order is None:
        return
    content = (task.decision or {}).get("content") or {}
    if task.status == "rejected":
        order.reply_status = REPLY_REJECTED
    elif task.status == "edited":
        # Edited by a person: the person's text, without the AI label (it is no longer AI output).
        order.reply = str(content.get("text") or order.reply or "")
        order.reply_status = REPLY_APPROVED
    else:
        order.reply = str(content.get("labelled_text") or order.reply or "")
        order.reply_status = REPLY_APPROVED
    # ``decided_by`` on the order is the dispatch's; the reply's decider is kept beside its draft.
    details = dict(order.details or {})
    details["reply_draft"] = {**details.get("reply_draft", {}), "by": "human"}
    details["reply_decision"] = _decision_record(task)
    order.details = details


check_decision(DISPATCH_REVIEW, check_dispatch_decision)
check_decision(REPLY_REVIEW, check_reply_decision)
on_decision(DISPATCH_REVIEW, apply_dispatch_decision)
on_decision(REPLY_REVIEW, apply_reply_decision)
