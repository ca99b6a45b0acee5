"""Job records in the database, the source of truth for every queue.

A job moves ``queued → running → succeeded | failed | cancelled``. A worker owns a running job
through a lease (``locked_by`` + ``lease_until``) that it keeps renewing; every write a worker
makes is fenced by ``locked_by``, so a worker that lost its lease (it stalled and another took
over) can no longer change the job. Attempts are counted when a job is claimed, so a worker killed
mid-job uses up an attempt too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobItem

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})
STATUS_ZH = {
    QUEUED: "排队中",
    RUNNING: "运行中",
    SUCCEEDED: "已完成",
    FAILED: "失败",
    CANCELLED: "已取消",
}
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Claim:
    """A job this worker now owns until ``lease_until`` (renewed while it runs)."""

    job_id: int
    kind: str
    params: dict[str, Any]
    attempt: int
    worker: str
    progress_done: int = 0


def new_job(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    max_attempts: int,
    created_by: str | None,
    department_id: int | None,
    run_at: datetime | None = None,
) -> Job:
    job = Job(
        kind=kind,
        status=QUEUED,
        params=params,
        max_attempts=max_attempts,
        created_by=created_by,
        department_id=department_id,
        next_run_at=run_at,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def load(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在", hint="用 `shuzhi jobs list` 查看任务编号")
    return job


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    departments: set[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Job]:
    """Newest first. ``departments`` limits to those departments (``None``: all jobs)."""
    if status is not None and status not in STATUS_ZH:
        raise InvalidInput(f"未知的任务状态：{status!r}；可用：{'、'.join(STATUS_ZH)}")
    query = select(Job).order_by(Job.id.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    if departments is not None:
        query = query.where(Job.department_id.in_(departments))
    return session.scalars(query).all()


def items(session: Session, job_id: int, *, limit: int = 1000, offset: int = 0) -> list[JobItem]:
    query = (
        select(JobItem)
        .where(JobItem.job_id == job_id)
        .order_by(JobItem.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def request_cancel(session: Session, job_id: int) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next item."""
    job = load(session, job_id)
    if job.status in FINISHED:
        raise Conflict(f"任务 {job_id} 已{STATUS_ZH[job.status]}，无法取消")
    job.cancel_requested = True
    if job.status == QUEUED:
        job.status = CANCELLED
        job.finished_at = utcnow()
    session.flush()
    return job


def requeue_for_retry(session: Session, job_id: int) -> Job:
    """Put a failed or cancelled job back in the queue; items already done are kept and skipped."""
    job = load(session, job_id)
    if job.status not in (FAILED, CANCELLED):
        raise Conflict(f"任务 {job_id} 当前{STATUS_ZH[job.status]}，只有失败或已取消的任务可以重试")
    job.status = QUEUED
    job.attempts = 0
    job.cancel_requested = False
    job.next_run_at = None
    job.finished_at = None
    job.locked_by = None
    job.lease_until = None
    session.flush()
    return job


def _claimable(now: datetime) -> Any:
    due = or_(Job.next_run_at.is_(None), Job.next_run_at <= now)
    abandoned = and_(
        Job.status == RUNNING,
        Job.lease_until < now,
        Job.attempts < Job.max_attempts,
        Job.cancel_requested.is_(False),
    )
    return or_(and_(Job.status == QUEUED, due), abandoned)


def claim(db: Database, job_id: int, worker: str, lease: float) -> Claim | None:
    """Take ``job_id`` if it is due, or running under an expired lease; ``None`` otherwise."""
    with db.session() as session:
        return _take(session, job_id, worker, lease)


def _take(session: Session, job_id: int, worker: str, lease: float) -> Claim | None:
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, _claimable(now))
        .values(
            status=RUNNING,
            locked_by=worker,
            lease_until=now + timedelta(seconds=lease),
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = load(session, job_id)
    return Claim(job.id, job.kind, dict(job.params or {}), job.attempts, worker, job.progress_done)


def claim_next(db: Database, worker: str, lease: float, *, batch: int = 8) -> Claim | None:
    """The oldest claimable job, taken atomically; ``None`` when the queue is empty."""
    query = select(Job.id).where(_claimable(utcnow())).order_by(Job.id)
    if db.dialect == "postgresql":
        # Lock one row and take it in the same transaction; other workers skip it rather than
        # queue behind us, so N workers claim N different jobs at once.
        with db.session() as session:
            job_id = session.scalar(query.limit(1).with_for_update(skip_locked=True))
            return None if job_id is None else _take(session, job_id, worker, lease)
    with db.session() as session:
        candidates = list(session.scalars(query.limit(batch)))
    for job_id in candidates:
        claimed = claim(db, job_id, worker, lease)
        if claimed is not None:
            return claimed
    return None


def renew(db: Database, job_id: int, worker: str, lease: float) -> tuple[bool, bool]:
    """Extend the lease. Returns (still owned, cancel requested)."""
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.locked_by == worker, Job.status == RUNNING)
            .values(lease_until=utcnow() + timedelta(seconds=lease))
            .execution_options(synchronize_session=False)
        )
        owned = result.rowcount == 1  # type: ignore[attr-defined]
        cancel = bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
        return owned, cancel


def _fenced(job_id: int, worker: str) -> Any:
    return update(Job).where(Job.id == job_id, Job.locked_by == worker, Job.status == RUNNING)


def _finish(db: Database, job_id: int, worker: str, **values: Any) -> bool:
    now = utcnow()
    values.setdefault("finished_at", now)
    with db.session() as session:
        result = session.execute(
            _fenced(job_id, worker)
            .values(locked_by=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def mark_succeeded(db: Database, job_id: int, worker: str, result: dict[str, Any] | None) -> bool:
    return _finish(db, job_id, worker, status=SUCCEEDED, result=result, error=None)


def mark_cancelled(db: Database, job_id: int, worker: str) -> bool:
    return _finish(db, job_id, worker, status=CANCELLED)


def mark_failed(
    db: Database, claim_: Claim, error: str, *, retry_in: timedelta | None
) -> datetime | None:
    """Record a failed attempt: back to the queue after ``retry_in``, or failed for good.

    Returns when the job runs again, or ``None`` when it has failed for good.
    """
    if retry_in is None:
        _finish(db, claim_.job_id, claim_.worker, status=FAILED, error=error)
        return None
    run_at = utcnow() + min(retry_in, MAX_BACKOFF)
    owned = _finish(
        db,
        claim_.job_id,
        claim_.worker,
        status=QUEUED,
        error=error,
        next_run_at=run_at,
        finished_at=None,
    )
    return run_at if owned else None


def reap(db: Database) -> None:
    """Settle running jobs whose worker vanished and whose job cannot simply be taken over.

    A job whose lease expired is claimable again (see :func:`claim`), unless cancelling was asked
    (then it is cancelled here) or its attempts are used up (then it fails here, saying so).
    """
    now = utcnow()
    expired = and_(Job.status == RUNNING, Job.lease_until < now)
    with db.session() as session:
        session.execute(
            update(Job)
            .where(expired, Job.cancel_requested.is_(True))
            .values(status=CANCELLED, finished_at=now, locked_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Job)
            .where(expired, Job.attempts >= Job.max_attempts)
            .values(
                status=FAILED,
                finished_at=now,
                locked_by=None,
                lease_until=None,
                error="执行任务的工作进程多次中断（已达最大尝试次数），请检查工作进程日志后重试",
            )
            .execution_options(synchronize_session=False)
        )


def unsent(db: Database, resend_after: float, *, limit: int = 1000) -> list[int]:
    """Claimable jobs without a message sent in the last ``resend_after`` seconds.

    A message can be missing because Redis was down at submit time, or because its worker was
    killed and the job's lease has since expired; sending another is always safe, since a claim
    succeeds only once.
    """
    now = utcnow()
    stale = now - timedelta(seconds=resend_after)
    query = (
        select(Job.id)
        .where(_claimable(now), or_(Job.enqueued_at.is_(None), Job.enqueued_at < stale))
        .order_by(Job.id)
        .limit(limit)
    )
    with db.session() as session:
        return list(session.scalars(query))


def mark_sent(db: Database, job_ids: Sequence[int], at: datetime | None = None) -> None:
    if not job_ids:
        return
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids))
            .values(enqueued_at=at or utcnow())
            .execution_options(synchronize_session=False)
        )


def set_progress(db: Database, job_id: int, worker: str, done: int, total: int | None) -> bool:
    values: dict[str, Any] = {"progress_done": done}
    if total is not None:
        values["progress_total"] = total
    with db.session() as session:
        result = session.execute(
            _fenced(job_id, worker).values(**values).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def release(db: Database, claim_: Claim) -> bool:
    """Give a running job back to the queue at once (graceful shutdown), returning its attempt.

    Any later write of the thread still running it is fenced off, so nothing is recorded twice.
    """
    with db.session() as session:
        result = session.execute(
            _fenced(claim_.job_id, claim_.worker)
            .values(
                status=QUEUED,
                locked_by=None,
                lease_until=None,
                enqueued_at=None,
                attempts=Job.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]
