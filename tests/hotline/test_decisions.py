"""Orders belong to departments, and reviewers' decisions act on them (on every database)."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.errors import NotFound, PermissionDenied
from shuzhi.platform import review
from shuzhi.platform.identity import Principal, create_api_key, create_user, principal_for_user
from shuzhi.platform.review import DecisionProblems
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.batch import BatchJob, BatchResult
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.decisions import (
    DISPATCH_REVIEW,
    MAX_REPLY,
    REPLY_REVIEW,
    hotline_department,
    queue_reply_draft,
    review_due,
)
from shuzhi.scenarios.hotline.importing import BEIJING
from shuzhi.scenarios.hotline.reply import FILL_IN, draft_reply
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


def test_a_department_named_without_the_city_owns_its_units_orders(db: Database) -> None:
    """The duty list says 市人力资源和社会保障局; the shipped department is 人力资源和社会保障局."""
    from shuzhi.scenarios.hotline.decisions import unit_departments

    hrss = _department(db, "人力资源和社会保障局", "hrss")
    market = _department(db, "市市场监督管理局", "market")
    exact = _department(db, "市人力资源和社会保障局", "hrss-city")
    with db.session() as session:
        units = unit_departments(session)
    assert units["人力资源和社会保障局"] == hrss and units["hrss"] == hrss
    assert units["市人力资源和社会保障局"] == exact, "an exact name wins over another's spelling"
    assert units["市场监督管理局"] == market and units["市市场监督管理局"] == market
    with db.session() as session:
        session.delete(session.get(Department, exact))
    with db.session() as session:
        assert unit_departments(session)["市人力资源和社会保障局"] == hrss


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
        again = _queue(session, orders[0], filled=True)  # replaces the pending one's draft
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


def _queue(session: object, order: WorkOrder, *, filled: bool = False) -> ReviewTask:
    """Queue the offline draft, with the placeholders written over when ``filled``."""
    draft = draft_reply(
        title=order.title,
        text=order.text,
        requester=order.requester_masked,
        handling_unit=order.handling_unit or "",
        order_type=order.order_type or "help",
        rules=load_rules(),
    )
    if filled:
        draft.text = draft.text.replace(FILL_IN, "已于9月5日处理完毕。")
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


# -- decisions checked before they are recorded -----------------------------------------------

DISPATCH = {
    "category": "城乡建设",
    "handling_unit": HOUSING,
    "confidence": 0.41,
    "candidates": [["城乡建设", 0.41], ["环境保护", 0.35]],
    "mode": "offline",
}
FILLED = "您好！您反映的垃圾问题已收悉。经核实，垃圾已于12月3日清理完毕，今后每日清运。"
TEMPLATE = f"您好！您反映的问题已收悉。\n1. 关于“清理垃圾”：{FILL_IN}"


def _pending(db: Database, kind: str, proposal: dict[str, Any]) -> tuple[int, Principal]:
    """A pending task of ``kind`` on order HL-1 in the hotline office, and its reviewer."""
    with db.session() as session:
        hotline = hotline_department(session).id
        order = WorkOrder(code="HL-1", department_id=hotline, title="垃圾未清理", text="垃圾未清理",
                          category="城乡建设", handling_unit=HOUSING, status="pending_review",
                          reply_status="pending_approval")  # fmt: skip
        session.add(order)
        task = review.create_review_task(session, hotline, kind, "work_order", "HL-1", "复核",
                                         proposal)  # fmt: skip
        task_id = task.id
    return task_id, _reviewer(db, "rev", hotline)


def _refused(db: Database, task_id: int, reviewer: Principal, action: str, **kw: Any) -> str:
    """The message of a refused decision, after checking that nothing was recorded."""
    with db.session() as session, pytest.raises(DecisionProblems) as refused:
        review.decide(session, task_id, reviewer, action, **kw)
    _assert_untouched(db, task_id)
    return refused.value.message


def _assert_untouched(db: Database, task_id: int) -> None:
    with db.session() as session:
        task = session.get(ReviewTask, task_id)
        order = session.scalar(select(WorkOrder).where(WorkOrder.code == "HL-1"))
        assert task is not None and order is not None
        assert (task.status, task.decision, task.reason) == ("pending", None, None)
        assert (order.category, order.handling_unit, order.status) == (
            "城乡建设",
            HOUSING,
            "pending_review",
        )
        assert (order.reply, order.reply_status, order.decided_by) == (
            None,
            "pending_approval",
            "ai",
        )


def test_an_edited_dispatch_takes_only_a_category_and_unit_from_the_lists(db: Database) -> None:
    task_id, reviewer = _pending(db, DISPATCH_REVIEW, DISPATCH)
    refused = {
        "分类（category）：请从列表中选择（收到“不存在的分类”）；"
        "承办单位（handling_unit）：请从列表中选择（收到“火星管理局”）": {
            "category": "不存在的分类",
            "handling_unit": "火星管理局",
        },
        "分类（category）：请从列表中选择（收到 12345，": {"category": 12345},
        '承办单位（handling_unit）：请从列表中选择（收到 ["a"]，': {"handling_unit": ["a"]},
        "category：不能含控制字符（第 5 个字符是 U+0000）": {"category": "城乡建设\x00"},
        "a：值是 NaN，JSON 不能含 NaN 或 Infinity": {"a": float("nan")},
        "a：a.b[1] 值是 Infinity": {"a": {"b": [1, float("inf")]}},
        "confidence：不能修改此项，只能修改分类（category）、承办单位（handling_unit）": {
            **DISPATCH,
            "category": "环境保护",
            "confidence": 0.99,
        },
    }
    for expected, edited in refused.items():
        message = _refused(db, task_id, reviewer, "edit", reason="改", edited=edited)
        assert expected in message, (edited, message)

    with db.session() as session:  # the proposal sent back with a category of the list: taken
        edited = {**DISPATCH, "category": "环境保护", "handling_unit": ENVIRONMENT}
        review.decide(session, task_id, reviewer, "edit", reason="油烟属环保", edited=edited)
    with db.session() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.code == "HL-1"))
        assert order is not None and (order.category, order.handling_unit) == (
            "环境保护",
            ENVIRONMENT,
        )


def test_a_reply_is_approved_only_without_placeholders_and_within_limits(db: Database) -> None:
    proposal = {"text": TEMPLATE, "labelled_text": "【AI辅助·离线】\n\n" + TEMPLATE}
    task_id, reviewer = _pending(db, REPLY_REVIEW, proposal)
    tail = TEMPLATE.replace("【请填写核实情况、处理结果或解决措施，", "")  # "…并写明完成时限】"
    edits = {
        f"答复内容（text）：答复中还有未填写的模板内容“{FILL_IN}”": TEMPLATE + "。",
        "答复中还有未填写的模板内容“并写明完成时限”": tail,
        "答复中还有未填写的模板内容“【待核实】”": "您好！关于垃圾，【待核实】。",
        "text：不能含控制字符（第 3 个字符是 U+001B）": "您好\x1b[31m！已清理。",
        "不能含控制字符（第 3 个字符是 U+0007）": "您好\x07！已清理。",
        "答复内容（text）：最多 5000 个字符（现有 90000 个）": "已清理。" * 22500,
        "答复内容（text）：答复内容不能为空": "   ",
    }

    assert FILL_IN in _refused(db, task_id, reviewer, "accept")
    for expected, text in edits.items():
        message = _refused(db, task_id, reviewer, "edit", reason="改", edited={"text": text})
        assert expected in message, (text[:40], message)
    changed_label = {**proposal, "text": FILLED, "labelled_text": "人工撰写"}
    assert "labelled_text：不能修改此项，只能修改答复内容（text）" in _refused(
        db, task_id, reviewer, "edit", reason="改", edited=changed_label
    )
    for reason, expected in (("改\x00", "U+0000"), ("理" * 2001, "最多 2000 个字符")):
        message = _refused(db, task_id, reviewer, "edit", reason=reason, edited={"text": FILLED})
        assert "理由（reason）：" in message and expected in message

    longest = FILLED + "。" * (MAX_REPLY - len(FILLED))
    with db.session() as session:
        review.decide(session, task_id, reviewer, "edit", reason="理" * 2000,
                      edited={"text": longest})  # fmt: skip
    with db.session() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.code == "HL-1"))
        assert order is not None and (order.reply, order.reply_status) == (longest, "approved")


def test_the_api_refuses_bad_content_with_the_fields_named(
    settings: Settings, db: Database
) -> None:
    task_id, _ = _pending(db, DISPATCH_REVIEW, DISPATCH)
    client = _client(settings, db, Role.REVIEWER, _hotline_id(db))
    url = f"/api/reviews/{task_id}/decision"

    mars = {"action": "edit", "reason": "改", "edited": {"handling_unit": "火星管理局"}}
    refused = client.post(url, json=mars)
    raw = '{"action": "edit", "reason": "改", "edited": {"a": NaN}}'
    not_a_number = client.post(url, content=raw, headers={"Content-Type": "application/json"})

    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert "承办单位（handling_unit）：请从列表中选择（收到“火星管理局”）" in error["message"]
    assert error["detail"]["problems"] == [
        {"field": "handling_unit", "problem": "请从列表中选择（收到“火星管理局”）"}
    ]
    assert not_a_number.status_code == 422, not_a_number.text
    assert "JSON 不能含 NaN 或 Infinity" in not_a_number.json()["error"]["message"]
    _assert_untouched(db, task_id)


def test_the_api_refuses_to_approve_a_draft_with_placeholders(
    settings: Settings, db: Database
) -> None:
    task_id, _ = _pending(db, REPLY_REVIEW, {"text": TEMPLATE, "labelled_text": TEMPLATE})
    client = _client(settings, db, Role.REVIEWER, _hotline_id(db))
    url = f"/api/reviews/{task_id}/decision"

    accepted = client.post(url, json={"action": "accept"})
    headless_text = TEMPLATE.replace("【请填写", "")
    headless = client.post(url, json={"action": "edit", "reason": "删去提示",
                                      "edited": {"text": headless_text}})  # fmt: skip

    for response in (accepted, headless):
        assert response.status_code == 422, response.text
        assert "答复中还有未填写的模板内容" in response.json()["error"]["message"]
    _assert_untouched(db, task_id)


def test_a_review_is_due_by_the_orders_deadline_but_never_before_it_exists() -> None:
    """Old messages replayed (the shared data is from 2011–2020) are overdue orders, but their
    reviewers get until the end of the next working day, and escalation does not fire at once."""

    friday = datetime(2026, 12, 4, 2, tzinfo=UTC)  # 10:00 in Beijing
    assert review_due(None, friday) is None
    late = review_due(date(2019, 11, 19), friday)
    assert late is not None and late.astimezone(BEIJING).date() == date(2026, 12, 7), "Monday"
    ahead = review_due(date(2026, 12, 18), friday)
    assert ahead == datetime(2026, 12, 18, 18, tzinfo=BEIJING)


def test_stored_reviews_of_an_old_batch_are_not_overdue(
    db: Database, classifier: DispatchClassifier, sample_files: tuple[Path, Path]
) -> None:
    _stored(db, classifier, sample_files[1], threshold=1.0)
    with db.session() as session:
        tasks = list(session.scalars(select(ReviewTask)))
    now = datetime.now(UTC)
    assert tasks and all(t.due_at is not None and t.due_at > now for t in tasks)
    with db.session() as session:
        assert review.escalate_overdue(session) == []
