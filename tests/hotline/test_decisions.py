"""Orders belong to departments, and reviewers' decisions act on them (on every database)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.errors import NotFound, PermissionDenied
from shuzhi.platform import review
from shuzhi.platform.identity import Principal, create_api_key, create_user, principal_for_user
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.batch import BatchJob, BatchResult
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.decisions import REPLY_REVIEW, queue_reply_draft
from shuzhi.scenarios.hotline.reply import draft_reply
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.scenarios.hotline.service import REVIEW_KIND, store_orders
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, ReviewTask, WorkOrder

HOUSING = "市住房和城乡建设局"
ENVIRONMENT = "市生态环境局"


def _department(db: Database, name: str, code: str) -> int:
    with db.session() as session:
        dept = Department(code=code, name=name)
        session.add(dept)
        session.flush()
        return dept.id


def _stored(
    db: Database, classifier: DispatchClassifier, messages: Path, **kw: float
) -> BatchResult:
    result = BatchJob(classifier, **kw).run(messages)  # type: ignore[arg-type]
    result.stored = store_orders(db, result, actor="test")
    return result


def _hotline_id(db: Database) -> int:
    with db.session() as session:
        dept = session.scalar(select(Department).where(Department.code == "hotline"))
        assert dept is not None
        return dept.id


def _reviewer(db: Database, name: str, department_id: int | None) -> Principal:
    with db.session() as session:
        user = create_user(session, name, "password-123", [(Role.REVIEWER, department_id)])
        return principal_for_user(session, user)


def test_orders_belong_to_their_units_department_or_the_hotline_office(
    db: Database, classifier: DispatchClassifier, sample_files: tuple[Path, Path]
) -> None:
    housing = _department(db, HOUSING, "housing")
    # The median confidence as threshold: about half the orders wait for review.
    sure = [o.dispatch.confidence for o in BatchJob(classifier).run(sample_files[1]).orders]
    result = _stored(db, classifier, sample_files[1], threshold=statistics.median(sure))
    hotline = _hotline_id(db)

    with db.session() as session:
        orders = {o.code: o for o in session.scalars(select(WorkOrder))}
        tasks = list(session.scalars(select(ReviewTask)))
    for order in result.orders:
        row = orders[order.code]
        if order.status == "dispatched" and order.dispatch.handling_unit == HOUSING:
            assert row.department_id == housing
        else:
            assert row.department_id == hotline, (order.status, order.dispatch.handling_unit)
    assert any(o.department_id == housing for o in orders.values())
    assert tasks and all(t.department_id == hotline for t in tasks)


def test_an_accepted_dispatch_sends_the_order_to_the_unit_as_a_human_decision(
    db: Database, classifier: DispatchClassifier, sample_files: tuple[Path, Path]
) -> None:
    environment = _department(db, ENVIRONMENT, "environment")
    _stored(db, classifier, sample_files[1], threshold=0.999)  # every order waits for a person
    reviewer = _reviewer(db, "dispatcher", _hotline_id(db))

    with db.session() as session:
        first, second, third = list(session.scalars(select(ReviewTask).order_by(ReviewTask.id)))[:3]
        review.decide(session, first.id, reviewer, "accept")
        edited = {**second.proposal, "category": "环境保护"}
        review.decide(session, second.id, reviewer, "edit", reason="油烟属环保", edited=edited)
        review.decide(session, third.id, reviewer, "reject", reason="涉及多个部门，人工协调")
        proposal, codes = first.proposal, [t.subject_id for t in (first, second, third)]

    with db.session() as session:
        accepted, changed, rejected = (
            session.scalar(select(WorkOrder).where(WorkOrder.code == c)) for c in codes
        )
    assert accepted is not None and changed is not None and rejected is not None
    assert (accepted.status, accepted.decided_by) == ("dispatched", "human")
    assert (accepted.category, accepted.handling_unit) == (
        proposal["category"],
        proposal["handling_unit"],
    )
    assert accepted.details["dispatch_decision"]["by"] == "dispatcher"
    # The category changed and the unit did not: the unit follows the duty list.
    assert (changed.category, changed.handling_unit) == ("环境保护", ENVIRONMENT)
    assert changed.department_id == environment and changed.decided_by == "human"
    assert changed.details["dispatch_decision"]["reason"] == "油烟属环保"
    assert (rejected.status, rejected.decided_by) == ("manual_dispatch", "human")
    assert rejected.department_id == _hotline_id(db)


def test_a_reviewer_of_another_department_cannot_decide_a_dispatch(
    db: Database, classifier: DispatchClassifier, sample_files: tuple[Path, Path]
) -> None:
    other = _department(db, ENVIRONMENT, "environment")
    _stored(db, classifier, sample_files[1], threshold=0.999)
    outsider = _reviewer(db, "outsider", other)
    with db.session() as session:
        task = session.scalars(select(ReviewTask).where(ReviewTask.kind == REVIEW_KIND)).first()
        assert task is not None
        with pytest.raises((PermissionDenied, NotFound)):
            review.decide(session, task.id, outsider, "accept")


def test_reply_drafts_wait_for_the_units_reviewer_and_approval_is_recorded(
    db: Database, classifier: DispatchClassifier, sample_files: tuple[Path, Path]
) -> None:
    housing = _department(db, HOUSING, "housing")
    _stored(db, classifier, sample_files[1], threshold=0.0)
    reviewer = _reviewer(db, "housing-reviewer", housing)

    with db.session() as session:
        orders = list(
            session.scalars(select(WorkOrder).where(WorkOrder.department_id == housing).limit(2))
        )
        tasks = [_queue(session, order) for order in orders]
        again = _queue(session, orders[0])  # a second draft replaces the pending one
        assert again.id == tasks[0].id
        assert all(t.kind == REPLY_REVIEW and t.department_id == housing for t in tasks)
        assert orders[0].reply_status == "pending_approval"
        review.decide(session, tasks[0].id, reviewer, "accept")
        edited = {**tasks[1].proposal, "text": "您好！经核实，电梯已于9月5日修复。"}
        review.decide(session, tasks[1].id, reviewer, "edit", reason="补充结果", edited=edited)
        codes = [o.code for o in orders]

    with db.session() as session:
        approved, rewritten = (
            session.scalar(select(WorkOrder).where(WorkOrder.code == c)) for c in codes
        )
    assert approved is not None and rewritten is not None
    assert approved.reply_status == "approved" and approved.reply is not None
    assert approved.reply.startswith("【AI辅助·离线】")  # approved as the AI wrote it: labelled
    assert approved.details["reply_draft"]["by"] == "human"
    assert approved.details["reply_decision"]["by"] == "housing-reviewer"
    assert rewritten.reply == "您好！经核实，电梯已于9月5日修复。"
    assert approved.decided_by == "ai"  # the dispatch itself was the AI's, above the threshold


def _queue(session: object, order: WorkOrder) -> ReviewTask:
    draft = draft_reply(
        title=order.title,
        text=order.text,
        requester=order.requester_masked,
        handling_unit=order.handling_unit or "",
        order_type=order.order_type or "help",
        rules=load_rules(),
    )
    fields = {**draft.as_dict(), "labelled_text": draft.labelled_text}
    return queue_reply_draft(session, order, fields)  # type: ignore[arg-type]


def _client(settings: Settings, db: Database, role: Role, department_id: int | None) -> TestClient:
    with db.session() as session:
        user = create_user(
            session, f"u-{role.value}-{department_id}", "password-123", [(role, department_id)]
        )
        _, key = create_api_key(session, "test", user.id)
    client = TestClient(create_app(settings, db))
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def test_routes_show_only_the_callers_departments_orders(
    settings: Settings,
    db: Database,
    classifier: DispatchClassifier,
    sample_files: tuple[Path, Path],
) -> None:
    housing = _department(db, HOUSING, "housing")
    environment = _department(db, ENVIRONMENT, "environment")
    _stored(db, classifier, sample_files[1], threshold=0.0)
    with db.session() as session:
        counts = {
            d: len(list(session.scalars(select(WorkOrder).where(WorkOrder.department_id == d))))
            for d in (housing, environment)
        }
        foreign = session.scalars(
            select(WorkOrder.code).where(WorkOrder.department_id == environment)
        ).first()
    assert counts[housing] and counts[environment] and foreign

    housing_viewer = _client(settings, db, Role.VIEWER, housing)
    seen = housing_viewer.get("/api/hotline/workorders", params={"limit": 500}).json()
    assert len(seen) == counts[housing]
    assert {o["handling_unit"] for o in seen} == {HOUSING}
    assert housing_viewer.get(f"/api/hotline/workorders/{foreign}").status_code == 404
    everyone = _client(settings, db, Role.VIEWER, None)
    assert len(everyone.get("/api/hotline/workorders", params={"limit": 500}).json()) == 80

    operator = _client(settings, db, Role.OPERATOR, housing)
    assert operator.post(f"/api/hotline/workorders/{foreign}/reply-draft").status_code == 404
