"""Periodic platform work on the job queue: escalating overdue reviews, audit retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shuzhi.jobs import JobContext, job_kind, periodic
from shuzhi.platform import review
from shuzhi.platform.audit import MIN_RETENTION, prune
from shuzhi.storage.db import utcnow

DEFAULT_AUDIT_KEEP_DAYS = 365


@job_kind("review.escalate", title="复核任务超期升级", permission=None, max_attempts=1)
def escalate_reviews(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.db.session() as session:
        escalated = review.escalate_overdue(session)
        pending, overdue = review.backlog(session)
    return {"escalated": len(escalated), "pending": pending, "overdue": overdue}


@job_kind("audit.retention", title="审计日志到期清理", permission=None, max_attempts=1)
def audit_retention(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    keep = max(int(params.get("keep_days", DEFAULT_AUDIT_KEEP_DAYS)), MIN_RETENTION.days)
    with ctx.db.session() as session:
        result = prune(session, utcnow() - timedelta(days=keep), actor="system")
    return {"pruned": result.pruned, "keep_days": keep}


periodic("review-escalation", "review.escalate", every=timedelta(minutes=15))
periodic(
    "audit-retention",
    "audit.retention",
    every=timedelta(days=1),
    params={"keep_days": DEFAULT_AUDIT_KEEP_DAYS},
)
