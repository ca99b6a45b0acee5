from __future__ import annotations

from datetime import timedelta

from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.platform import jobs as platform_jobs
from shuzhi.platform import review
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import ReviewTask


def test_periodic_platform_jobs_are_declared() -> None:
    names = {p.name: p for p in jobs.scheduler.declared()}
    assert names["review-escalation"].kind == "review.escalate"
    assert names["audit-retention"].params == {"keep_days": platform_jobs.DEFAULT_AUDIT_KEEP_DAYS}


def test_escalation_job_escalates_overdue_tasks(db: Database, settings: Settings) -> None:
    with db.session() as session:
        task = review.create_review_task(session, None, "k", "s", 1, "t", {})
        task.due_at = utcnow() - timedelta(hours=1)
        task_id = task.id
    job = jobs.run_inline(db, "review.escalate", {}, settings=settings)
    assert job.status == "succeeded" and job.result == {"escalated": 1, "pending": 1, "overdue": 1}
    with db.session() as session:
        stored = session.get(ReviewTask, task_id)
        assert stored is not None and stored.escalation_level == 1


def test_retention_job_never_goes_below_180_days(db: Database, settings: Settings) -> None:
    job = jobs.run_inline(db, "audit.retention", {"keep_days": 7}, settings=settings)
    assert job.status == "succeeded" and job.result == {"pruned": 0, "keep_days": 180}
