"""Periodic platform work on the job queue: escalating overdue reviews, audit retention, and
the keeping time of conversations and uploaded files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shuzhi.jobs import JobContext, job_kind, periodic
from shuzhi.platform import review
from shuzhi.platform.audit import MIN_RETENTION, prune
from shuzhi.platform.retention import apply_retention
from shuzhi.storage.db import utcnow

DEFAULT_AUDIT_KEEP_DAYS = 365


@job_kind(
    "review.escalate",
    title="复核任务超期升级",
    title_en="Review escalation",
    permission=None,
    max_attempts=1,
)
def escalate_reviews(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.db.session() as session:
        escalated = review.escalate_overdue(session)
        pending, overdue = review.backlog(session)
    return {"escalated": len(escalated), "pending": pending, "overdue": overdue}


@job_kind(
    "audit.retention",
    title="审计日志到期清理",
    title_en="Audit retention",
    permission=None,
    max_attempts=1,
)
def audit_retention(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    keep = max(int(params.get("keep_days", DEFAULT_AUDIT_KEEP_DAYS)), MIN_RETENTION.days)
    with ctx.db.session() as session:
        result = prune(session, utcnow() - timedelta(days=keep), actor="system")
    return {"pruned": result.pruned, "keep_days": keep}


@job_kind(
    "privacy.retention",
    title="会话与上传文件到期清理",
    title_en="Conversation and upload retention",
    permission=None,
    max_attempts=1,
)
def privacy_retention(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.db.session() as session:
        return apply_retention(session, ctx.settings).as_dict()


periodic("review-escalation", "review.escalate", every=timedelta(minutes=15))
periodic(
    "audit-retention",
    "audit.retention",
    every=timedelta(days=1),
    params={"keep_days": DEFAULT_AUDIT_KEEP_DAYS},
)
periodic("privacy-retention", "privacy.retention", every=timedelta(days=1))
