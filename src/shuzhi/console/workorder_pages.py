"""The work orders (工单) in the console: the list with filters and pages, and one order's page.

Both show only the orders of the reader's departments (``workorder.read``), by one rule
(:func:`shuzhi.console.workorder_list.scoped`); an order outside it reads as missing. Texts are
shown as stored, masked when the order was made (``requester_masked``, the masked title and text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from shuzhi.api.deps import DbSession, client_ip
from shuzhi.api.routes.openai_compat import get_gateway
from shuzhi.console.web import CHINA, page, redirect, render
from shuzhi.console.workorder_list import (
    CLOSED,
    URGENCIES,
    OrderFilter,
    filter_options,
    is_visible,
    list_orders,
    page_number,
)
from shuzhi.errors import NotFound
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.hotline.decisions import REPLY_APPROVED, request_reply_draft
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import AuditRecord, Department, ReviewTask, WorkOrder

router = APIRouter(prefix="/console/workorders", include_in_schema=False)
RESULTS = "workorder-results"  # the element an htmx filter or page link swaps
TRAIL_LIMIT = 200


def _departments(session: Any) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


def _today() -> date:
    return utcnow().astimezone(CHINA).date()


def decided_mode(order: WorkOrder) -> str:
    """Who decided the dispatch, as the AI-content label names it: a person, the model or the
    offline classifier and rules."""
    if order.decided_by == "human":
        return "human"
    return "model" if order.mode == "model" else "offline"


def by_classifier(mode: object, model: object) -> bool:
    """Whether an offline dispatch came from the trained classifier, which names its version
    (``hotline-dispatch-v3``), rather than from a scenario's keyword table (``scenario:…``)."""
    named = isinstance(model, str) and bool(model) and not model.startswith("scenario:")
    return mode == "offline" and named


@dataclass(frozen=True)
class Decider:
    """Who decided a dispatch, for its labels: the AIGC ``mode`` (``data-aigc`` and the
    metadata) and whether an offline decision was the trained classifier's."""

    mode: str
    classifier: bool = False

    @property
    def key(self) -> str:
        """The label of the decider under ``mode.`` in the messages."""
        return "classifier" if self.classifier else self.mode


def decider(order: WorkOrder) -> Decider:
    mode = decided_mode(order)
    return Decider(mode, mode == "offline" and by_classifier(order.mode, order.model))


@router.get("")
def workorders_page(
    request: Request,
    principal: Annotated[Principal, page("workorder.read")],
    session: DbSession,
) -> Response:
    filters = OrderFilter.from_query(request.query_params)
    number = page_number(request.query_params.get("page"))
    listing = list_orders(session, principal, filters, number, _today())
    partial = request.headers.get("hx-target") == RESULTS
    context = {
        "listing": listing,
        "orders": listing.orders,
        "filters": filters,
        # The menus are not part of the swapped results: a page link need not rebuild them.
        "options": None if partial else filter_options(session, principal),
        "urgencies": URGENCIES,
        "departments": _departments(session),
        "deciders": {o.code: decider(o) for o in listing.orders},
        "legend": _legend(listing.orders),
        "today": _today(),
        "closed": CLOSED,
    }
    response = render(
        request, "_workorders_results.html" if partial else "workorders.html", context
    )
    response.headers["Vary"] = "HX-Target"
    return response


def _legend(orders: list[WorkOrder]) -> list[Decider]:
    """How the listed orders were decided, for the full AI-content labels under the table."""
    found = {decider(o) for o in orders}
    order = [Decider("model"), Decider("offline", True), Decider("offline"), Decider("human")]
    return [d for d in order if d in found]


@router.get("/{code}")
def workorder_detail(
    code: str,
    request: Request,
    principal: Annotated[Principal, page("workorder.read")],
    session: DbSession,
) -> Response:
    order = session.scalar(select(WorkOrder).where(WorkOrder.code == code))
    if order is None or not is_visible(order, principal):
        # The same answer for another department's order as for a missing one: no peeking.
        raise NotFound(f"没有工单 {code}", hint="请回到“工单”列表，按编号或标题查找本部门的工单")
    context = _detail_context(session, order, principal)
    context["drafted"] = request.query_params.get("drafted") == "1"
    return render(request, "workorder_detail.html", context)


@router.post("/{code}/reply-draft")
def workorder_reply_draft(
    code: str,
    request: Request,
    principal: Annotated[Principal, page("workorder.write")],
    session: DbSession,
) -> Response:
    """Ask for a reply draft (the model's with an endpoint, else the offline template): it waits
    on the order, pending a reviewer's approval, and the page shows it."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.code == code))
    if order is None or not principal.can("workorder.write", order.department_id):
        raise NotFound(f"没有工单 {code}", hint="请回到“工单”列表，按编号或标题查找本部门的工单")
    request_reply_draft(
        session, order, get_gateway(request), actor=principal.name, source_ip=client_ip(request)
    )
    # A new address (not only a new fragment), so the browser loads the page with the draft.
    return redirect(f"/console/workorders/{quote(code)}?drafted=1#order-reply", request)


def _detail_context(session: Any, order: WorkOrder, principal: Principal) -> dict[str, Any]:
    details = order.details or {}
    tasks = _review_tasks(session, order.code)
    rules = load_rules()
    return {
        "order": order,
        "departments": _departments(session),
        "mode": decided_mode(order),
        "decider": decider(order),
        "model_by_classifier": by_classifier(order.mode, order.model),
        "type_label": rules.type_labels.get(order.order_type or "", order.order_type or ""),
        "deadline_basis": [
            s.get("citation") for s in order.sources or [] if s.get("kind") == "rule"
        ],
        "deadline_warnings": details.get("deadline_warnings") or [],
        "candidates": details.get("candidates") or [],
        "demands": details.get("demands") or [],
        "category_path": order.category_path or ([order.category] if order.category else []),
        "reply_mode": _reply_mode(details),
        "reply_decision": details.get("reply_decision") or {},
        "overdue": _overdue(order),
        "can_draft": principal.can("workorder.write", order.department_id)
        and order.reply_status != REPLY_APPROVED,
        "tasks": [(t, principal.can("review.read", t.department_id)) for t in tasks],
        "trail": _trail(session, order.code, tasks),
    }


def _reply_mode(details: dict[str, Any]) -> str | None:
    """The AI-content label of the stored reply: the draft's, unless a person rewrote it."""
    draft = details.get("reply_draft") or {}
    if not draft:
        return None
    if (details.get("reply_decision") or {}).get("status") == "edited":
        return "human"
    return "model" if draft.get("mode") == "model" else "offline"


def _overdue(order: WorkOrder) -> bool:
    return order.deadline is not None and order.deadline < _today() and order.status != CLOSED


def _review_tasks(session: Any, code: str) -> list[ReviewTask]:
    query = select(ReviewTask).where(
        ReviewTask.subject_type == "work_order", ReviewTask.subject_id == code
    )
    return list(session.scalars(query.order_by(ReviewTask.id)))


def _trail(session: Any, code: str, tasks: list[ReviewTask]) -> list[AuditRecord]:
    """The audit records about this order: those naming it, and those of its review tasks.

    Only the event, time, actor and outcome are shown on the page; source addresses and
    details stay in the audit log, which the audit administrator alone reads."""
    targets = [code] + [f"review:{t.id}" for t in tasks]
    query = select(AuditRecord).where(AuditRecord.target.in_(targets)).order_by(AuditRecord.id)
    return list(session.scalars(query.limit(TRAIL_LIMIT)))
