"""The functions other code calls: submit, look up, cancel, retry, and run a job inline."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from shuzhi.config import Settings, get_settings
from shuzhi.errors import InvalidInput
from shuzhi.jobs import store
from shuzhi.jobs.context import ProgressCallback
from shuzhi.jobs.queue import JobQueue, current_queue
from shuzhi.jobs.registry import get_kind
from shuzhi.jobs.runner import execute, worker_name
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobItem

log = logging.getLogger(__name__)


def _check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("任务参数必须是 JSON 对象（键值对）", hint='例如 {"file": "工单.xlsx"}')
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"任务参数无法保存为 JSON：{exc}", hint="只用字符串、数字、列表和对象"
        ) from exc
    return params


def submit(
    target: Database | Session,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    created_by: str | None = None,
    department_id: int | None = None,
    max_attempts: int | None = None,
    run_at: datetime | None = None,
    queue: JobQueue | None = None,
) -> Job:
    """Persist a job of a registered ``kind`` and tell the workers.

    Given a ``Session``, the job is part of the caller's transaction (it exists only if the caller
    commits) and workers are told after that commit. Given a ``Database``, it commits at once.
    """
    spec = get_kind(kind)
    params = spec.check(_check_params(params))
    queue = queue or current_queue()
    if isinstance(target, Session):
        return _submit_in(
            target,
            spec.name,
            params,
            spec.max_attempts,
            max_attempts,
            run_at,
            created_by,
            department_id,
            queue,
        )
    with target.session() as session:
        job = _submit_in(
            session,
            spec.name,
            params,
            spec.max_attempts,
            max_attempts,
            run_at,
            created_by,
            department_id,
            queue,
        )
    return job


def _submit_in(
    session: Session,
    kind: str,
    params: dict[str, Any],
    default_attempts: int,
    max_attempts: int | None,
    run_at: datetime | None,
    created_by: str | None,
    department_id: int | None,
    queue: JobQueue,
) -> Job:
    job = store.new_job(
        session,
        kind,
        params,
        max_attempts=max_attempts or default_attempts,
        created_by=created_by,
        department_id=department_id,
        run_at=run_at,
    )
    if queue.remote:
        job.enqueued_at = utcnow()
    delay = max((run_at - utcnow()).total_seconds(), 0.0) if run_at else 0.0
    job_id = job.id

    def notify(_session: Session) -> None:
        _send(queue, job_id, delay)

    event.listen(session, "after_commit", notify, once=True)
    return job


def _send(queue: JobQueue, job_id: int, delay: float) -> None:
    try:
        queue.send(job_id, delay=delay)
    except Exception as exc:
        # The job is safe in the database; the sweeper re-sends its message once Redis is back.
        log.warning("job %s stored but its message was not sent: %s", job_id, type(exc).__name__)


def get(db: Database, job_id: int) -> Job:
    with db.session() as session:
        return store.load(session, job_id)


def list_jobs(db: Database, **filters: Any) -> Sequence[Job]:
    with db.session() as session:
        return store.list_jobs(session, **filters)


def items(db: Database, job_id: int, *, limit: int = 1000, offset: int = 0) -> list[JobItem]:
    with db.session() as session:
        store.load(session, job_id)
        return store.items(session, job_id, limit=limit, offset=offset)


def cancel(db: Database, job_id: int) -> Job:
    """Cancel a queued job now; a running one stops at its next item (or lease renewal)."""
    with db.session() as session:
        return store.request_cancel(session, job_id)


def retry(db: Database, job_id: int, *, queue: JobQueue | None = None) -> Job:
    """Requeue a failed or cancelled job. Finished items are kept, so it resumes, not restarts."""
    with db.session() as session:
        job = store.requeue_for_retry(session, job_id)
        notify_after_commit(session, job, queue=queue)
    return job


def notify_after_commit(session: Session, job: Job, *, queue: JobQueue | None = None) -> None:
    """Tell the workers about ``job`` once ``session`` commits (used after a requeue)."""
    queue = queue or current_queue()
    if queue.remote:
        job.enqueued_at = utcnow()
    job_id = job.id
    event.listen(session, "after_commit", lambda _s: _send(queue, job_id, 0.0), once=True)


def run_inline(
    db: Database,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    created_by: str | None = None,
    department_id: int | None = None,
    on_progress: ProgressCallback | None = None,
    lease: float = 60.0,
) -> Job:
    """Submit a job and run it in this thread now (CLI use), reporting progress to a callback.

    The job is recorded like any other; it is given one attempt, so a failure stays visible as
    ``failed`` (resume it with ``shuzhi jobs retry``) instead of being retried behind the user.
    """
    from shuzhi.jobs.queue import DatabaseQueue

    job = submit(
        db,
        kind,
        params,
        created_by=created_by,
        department_id=department_id,
        max_attempts=1,
        queue=DatabaseQueue(),
    )
    return resume_inline(db, job.id, settings=settings, on_progress=on_progress, lease=lease)


def resume_inline(
    db: Database,
    job_id: int,
    *,
    settings: Settings | None = None,
    on_progress: ProgressCallback | None = None,
    lease: float = 60.0,
) -> Job:
    """Claim a due job and run it in this thread; finished items are skipped."""
    from shuzhi.errors import Conflict

    claim = store.claim(db, job_id, worker_name("inline"), lease)
    if claim is None:
        raise Conflict(
            f"任务 {job_id} 正在由其他进程运行或尚未到期", hint="用 `shuzhi jobs show` 查看"
        )
    execute(db, settings or get_settings(), claim, lease=lease, on_progress=on_progress)
    return get(db, job_id)
