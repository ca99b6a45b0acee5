"""Registering a citizen's request as a 12345 work order, the way the hotline batch does.

A conversation's work order gets the same proposal as a batch row: type and urgency from the
hotline rules, the place mentioned, a category and handling unit, and the reply deadline of the
《济南市12345市民服务热线条例》 Art. 24 (five working days). The category comes from the trained
dispatch classifier when the deployment has one (``shuzhi hotline train``), otherwise from the
keyword table of the ``hotline.work-order-dispatch`` scenario. A dispatch below the confidence
threshold waits for a person in the hotline's review queue (Art. 23(2) ties dispatch to duties).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from shuzhi.config import Settings
from shuzhi.employees.skills import SkillContext
from shuzhi.platform.review import create_review_task
from shuzhi.privacy import mask_for_display
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import WorkOrder

log = logging.getLogger(__name__)

KEYWORD_SCENARIO = "hotline.work-order-dispatch"
REVIEW_KIND = "hotline_dispatch"  # the hotline batch's queue, so one person sees both


@dataclass
class Proposal:
    category: str
    confidence: float
    handling_unit: str
    model: str
    order_type: str
    type_label: str
    urgency: str
    due: Any
    basis: str
    location: dict[str, str] = field(default_factory=dict)
    demands: list[str] = field(default_factory=list)
    candidates: list[tuple[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    needs_review: bool = False


@lru_cache(maxsize=4)
def _classifier(root: str, version: int) -> Any:
    from shuzhi.scenarios.hotline.classifier import ModelStore

    return ModelStore(Path(root)).load(version)


def _trained(settings: Settings) -> Any | None:
    from shuzhi.scenarios.hotline.service import model_store

    store = model_store(settings)
    versions = store.versions()
    return _classifier(str(store.root), versions[-1]) if versions else None


def _by_keywords(text: str) -> tuple[str, float, str, list[tuple[str, float]]]:
    from shuzhi.scenarios import run_scenario

    result = run_scenario(KEYWORD_SCENARIO, {"content": text, "received_on": utcnow().date()})
    category = str(result.outputs["category"])
    confidence = float(result.outputs.get("category_confidence") or 0.0)
    return category, confidence, str(result.outputs["handling_unit"]), [(category, confidence)]


def propose(settings: Settings, title: str, text: str) -> Proposal:
    """The AI's dispatch proposal for one request (offline: rules and a local classifier)."""
    from shuzhi.scenarios.hotline.classifier import training_text
    from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
    from shuzhi.scenarios.hotline.extract import (
        classify_type,
        classify_urgency,
        extract_demands,
        extract_location,
    )
    from shuzhi.scenarios.hotline.rules import load_rules

    rules = load_rules()
    joined = training_text(title, text)
    classifier = _trained(settings)
    if classifier is not None:
        top = classifier.top([joined], k=3)[0]
        category, confidence = top[0]
        unit, model = rules.handling_unit(category), classifier.manifest.name
    else:
        category, confidence, unit, top = _by_keywords(joined)
        model = f"scenario:{KEYWORD_SCENARIO}"
    order_type = classify_type(title, text, rules)
    urgency = classify_urgency(joined, rules)
    deadline = rules.deadline(utcnow(), order_type, urgency)
    return Proposal(
        category=category,
        confidence=confidence,
        handling_unit=unit,
        model=model,
        order_type=order_type,
        type_label=rules.type_labels.get(order_type, order_type),
        urgency=urgency,
        due=deadline.due,
        basis=deadline.basis,
        location=extract_location(joined),
        demands=extract_demands(text),
        candidates=top,
        warnings=deadline.warnings,
        needs_review=confidence < DEFAULT_THRESHOLD,
    )


def register(ctx: SkillContext, title: str, text: str) -> dict[str, Any]:
    """Store the work order (masked, as the batch does) and queue an unsure dispatch."""
    # Masked before it is cut: a cut through a phone number leaves digits no rule recognises.
    title = title or mask_for_display(text)[:30]
    proposal = propose(ctx.settings, title, text)
    order = _store(ctx, title, text, proposal)
    ctx.sources.append({"kind": "rule", "citation": proposal.basis})
    if proposal.needs_review:
        _queue(ctx, order, proposal)
    log.info("employee %s registered work order %s", ctx.employee_slug, order.code)
    return {
        "work_order": order.code,
        "id": order.id,
        "category": proposal.category,
        "handling_unit": proposal.handling_unit,
        "confidence": round(proposal.confidence, 3),
        "order_type": proposal.type_label,
        "deadline": proposal.due.isoformat() if proposal.due else None,
        "basis": proposal.basis,
        "status": order.status,
        "message": _message(order, proposal),
    }


def _code(ctx: SkillContext) -> str:
    ref = f"conversation:{ctx.conversation_id}"
    count = ctx.session.scalar(
        select(func.count()).select_from(WorkOrder).where(WorkOrder.source_ref == ref)
    )
    return f"WX{ctx.conversation_id:08d}-{(count or 0) + 1:02d}"


def _store(ctx: SkillContext, title: str, text: str, p: Proposal) -> WorkOrder:
    order = WorkOrder(
        code=_code(ctx),
        department_id=ctx.department_id,
        source_ref=f"conversation:{ctx.conversation_id}",
        title=mask_for_display(title)[:500],
        text=mask_for_display(text),
        requester_masked=mask_for_display(ctx.citizen_ref) if ctx.citizen_ref else None,
        received_at=utcnow(),
        location=p.location,
        category=p.category,
        category_path=[p.category],
        handling_unit=p.handling_unit,
        order_type=p.order_type,
        urgency=p.urgency,
        deadline=p.due,
        confidence=p.confidence,
        status="pending_review" if p.needs_review else "dispatched",
        decided_by="ai",
        model=p.model[:128],
        mode="offline",
        sources=[{"kind": "rule", "citation": p.basis}],
        details={"candidates": p.candidates, "demands": p.demands, "deadline_warnings": p.warnings},
    )
    ctx.session.add(order)
    ctx.session.flush()
    return order


def _queue(ctx: SkillContext, order: WorkOrder, p: Proposal) -> None:
    from shuzhi.scenarios.hotline.importing import BEIJING

    due_at = datetime.combine(p.due, time(18), BEIJING) if p.due else None
    create_review_task(
        ctx.session,
        ctx.department_id,
        REVIEW_KIND,
        "work_order",
        order.code,
        f"派单复核：{order.title}",
        {
            "category": p.category,
            "handling_unit": p.handling_unit,
            "confidence": round(p.confidence, 4),
            "candidates": p.candidates,
            "model": p.model,
            "mode": "offline",
            "reason": f"置信度 {p.confidence:.2f} 低于阈值，需人工确认分类和承办单位",
        },
        due_at=due_at,
        conversation_id=ctx.conversation_id,
    )


def _message(order: WorkOrder, p: Proposal) -> str:
    due = f"，承办单位应于{p.due.isoformat()}前答复您（依据：{p.basis}）" if p.due else ""
    who = (
        f"拟转{p.handling_unit}办理，派单员确认后转办"
        if p.needs_review
        else f"已转{p.handling_unit}办理"
    )
    return f"已为您登记工单 {order.code}（{p.type_label}，{p.category}），{who}{due}。"
