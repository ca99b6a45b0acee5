from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.platform import review
from shuzhi.platform.audit import verify_chain
from shuzhi.platform.identity import Principal
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord, ReviewTask
from tests.platform.helpers import department, principal


def _proposal() -> dict[str, object]:
    return {"handling_unit": "市城管局", "confidence": 0.42}


def test_accept_keeps_proposal_and_decision_side_by_side(db: Database) -> None:
    applied: list[tuple[str, object]] = []
    review.on_decision("t-dispatch", lambda s, t: applied.append((t.status, t.decision)))
    with db.session() as session:
        dept = department(session, "cg")
        reviewer = principal(session, "rev", (Role.REVIEWER, dept.id))
        task = review.create_review_task(
            session, dept.id, "t-dispatch", "work_order", 7, "派单复核", _proposal()
        )
        review.decide(session, task.id, reviewer, "accept")
    with db.session() as session:
        stored = session.get(ReviewTask, task.id)
        assert stored is not None
        assert stored.status == "accepted" and stored.decided_by_name == "rev"
        assert stored.proposal == _proposal()
        assert stored.decision == {"action": "accept", "content": _proposal(), "by": "rev"}
        actions = session.scalars(select(AuditRecord.action)).all()
        assert actions == ["review.create", "review.decide"]
        assert verify_chain(session).ok
    assert applied == [("accepted", stored.decision)]


def test_edit_and_reject_need_a_reason(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        reviewer = principal(session, "rev", (Role.REVIEWER, dept.id))
        task = review.create_review_task(session, dept.id, "k", "s", 1, "t", _proposal())
        with pytest.raises(InvalidInput):
            review.decide(session, task.id, reviewer, "reject")
        with pytest.raises(InvalidInput):
            review.decide(session, task.id, reviewer, "edit", reason="单位错误")
        with pytest.raises(InvalidInput):
            review.decide(session, task.id, reviewer, "approve", reason="x")
        edited = {"handling_unit": "区住建局"}
        review.decide(session, task.id, reviewer, "edit", reason="单位错误", edited=edited)
        assert task.status == "edited" and task.decision is not None
        assert task.decision["content"] == edited and task.proposal == _proposal()
        with pytest.raises(Conflict):
            review.decide(session, task.id, reviewer, "accept")


def test_reviewers_act_only_within_their_department(db: Database) -> None:
    with db.session() as session:
        mine, other = department(session, "a"), department(session, "b")
        reviewer = principal(session, "rev", (Role.REVIEWER, mine.id))
        viewer = principal(session, "view", (Role.VIEWER, other.id))
        task = review.create_review_task(session, other.id, "k", "s", 1, "t", _proposal())
        with pytest.raises(NotFound):
            review.decide(session, task.id, reviewer, "accept")
        with pytest.raises(PermissionDenied):
            review.decide(session, task.id, viewer, "accept")
        system_key = Principal(name="key:x", api_key_id=1, roles=frozenset({("reviewer", None)}))
        with pytest.raises(PermissionDenied):
            review.decide(session, task.id, system_key, "accept")
        assert review.list_tasks(session, review.queue_for(reviewer)) == []
        assert [t.id for t in review.list_tasks(session, review.queue_for(viewer))] == [task.id]


def test_named_assignee_is_enforced(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "a")
        first = principal(session, "r1", (Role.REVIEWER, dept.id))
        second = principal(session, "r2", (Role.REVIEWER, dept.id))
        task = review.create_review_task(
            session, dept.id, "k", "s", 1, "t", {}, assignee_id=second.user_id
        )
        with pytest.raises(PermissionDenied):
            review.decide(session, task.id, first, "accept")
        review.decide(session, task.id, second, "accept")


def test_failing_callback_rolls_the_decision_back(db: Database) -> None:
    def explode(_session: object, _task: ReviewTask) -> None:
        raise InvalidInput("承办单位不存在")

    review.on_decision("t-explode", explode)
    with db.session() as session:
        dept = department(session, "a")
        reviewer = principal(session, "rev", (Role.REVIEWER, dept.id))
        task_id = review.create_review_task(session, dept.id, "t-explode", "s", 1, "t", {}).id
    with pytest.raises(InvalidInput), db.session() as session:
        review.decide(session, task_id, reviewer, "accept")
    with db.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None and task.status == "pending" and task.decision is None


def test_overdue_tasks_escalate_once_per_lapse(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "a")
        late = review.create_review_task(session, dept.id, "k", "s", 1, "t", {}, due_in_hours=1)
        review.create_review_task(session, dept.id, "k", "s", 2, "t", {}, due_in_hours=48)
        assert review.backlog(session) == (2, 0)

        later = utcnow() + timedelta(hours=2)
        assert [t.id for t in review.escalate_overdue(session, now=later)] == [late.id]
        assert review.escalate_overdue(session, now=later + timedelta(minutes=10)) == []
        again = review.escalate_overdue(session, now=later + timedelta(hours=2))
        assert [t.escalation_level for t in again] == [2]
        late.due_at = utcnow() - timedelta(minutes=1)
        assert review.backlog(session, {dept.id}) == (2, 1)
        assert review.backlog(session, {dept.id + 1}) == (0, 0)


def test_deadline_rules(db: Database) -> None:
    with db.session() as session:
        start = utcnow()
        task = review.create_review_task(session, None, "k", "s", 1, "t", {})
        assert task.due_at is not None
        assert timedelta(hours=23) < task.due_at - start < timedelta(hours=25)
        with pytest.raises(InvalidInput):
            review.create_review_task(
                session, None, "k", "s", 1, "t", {}, due_at=start.replace(tzinfo=None)
            )


def test_working_day_deadline_skips_the_national_day_holiday(db: Database) -> None:
    from datetime import UTC, datetime

    from shuzhi.platform.review import CHINA

    with db.session() as session:
        task = review.create_review_task(session, None, "k", "s", 1, "t", {}, due_in_working_days=1)
        assert task.due_at is not None
        assert task.due_at.astimezone(CHINA).hour == 23
        # 2025-09-30 plus one working day: 10-01..10-08 are the holiday, 10-09 is a Thursday.
        due = review.working_days_after(datetime(2025, 9, 30, 2, tzinfo=UTC), 1)
        assert due.astimezone(CHINA).date().isoformat() == "2025-10-09"


def test_every_process_finds_the_decision_handlers_it_never_imported() -> None:
    # A fresh interpreter that imports only the review module, as a worker deciding a task might.
    code = (
        "from shuzhi.platform import review\n"
        "review.load_declared_handlers()\n"
        "print(' '.join(sorted(review._callbacks)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()

    expected = {"handoff", "hotline_dispatch", "hotline_reply", "scenario", "data.grading"}
    assert expected <= set(found)
