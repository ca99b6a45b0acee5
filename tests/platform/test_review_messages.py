"""A review task decided twice is refused with the status's Chinese name, as the console says."""

from __future__ import annotations

import pytest

from shuzhi.cli import labels
from shuzhi.errors import Conflict
from shuzhi.platform import review
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.platform.helpers import department, principal


def test_a_decided_task_is_refused_with_the_status_label(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        reviewer = principal(session, "rev", (Role.REVIEWER, dept.id))
        task = review.create_review_task(session, dept.id, "k", "s", 1, "派单复核", {"u": "城管"})
        review.decide(session, task.id, reviewer, "edit", reason="单位错误", edited={"u": "住建"})

        with pytest.raises(Conflict) as refused:
            review.decide(session, task.id, reviewer, "accept")

    assert refused.value.message == f"复核任务 {task.id} 已处理（已修改采纳），不能再次决定"


def test_the_status_labels_are_the_consoles_words() -> None:
    for status in review.Status:
        assert review.STATUS_LABELS_ZH[status] == labels.zh("review_status", status.value)
