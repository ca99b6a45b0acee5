"""``/api/jobs``: submit, follow, cancel and retry long jobs.

The server keeps no job state in memory: every call reads and writes the database, so any number
of API servers can stand behind a load balancer. Without Redis (the embedded default), the server
also runs the in-process worker (see :func:`install`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shuzhi import jobs
from shuzhi.api.deps import DbSession, get_settings, require
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied
from shuzhi.jobs import store
from shuzhi.jobs.embedded import EmbeddedWorker
from shuzhi.jobs.public import public_text, public_value
from shuzhi.jobs.settings import load_job_settings
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import Job

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


class JobSubmit(BaseModel):
    kind: str = Field(description="任务类型，见 GET /api/jobs/kinds")
    params: dict[str, Any] = Field(default_factory=dict)
    department_id: int | None = None


class JobPublic(BaseModel):
    id: int
    kind: str
    status: str
    status_zh: str
    params: dict[str, Any]
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    next_run_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    created_by: str | None
    department_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, job: Job, data_dir: Path) -> JobPublic:
        """The job as callers see it: paths on the server shown relative to ``data_dir``."""
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            status_zh=store.STATUS_ZH.get(job.status, job.status),
            params=public_value(job.params or {}, data_dir),
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            result=public_value(job.result, data_dir),
            error=public_text(job.error, data_dir) if job.error else None,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            next_run_at=job.next_run_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            cancel_requested=job.cancel_requested,
            created_by=job.created_by,
            department_id=job.department_id,
            created_at=job.created_at,
        )


class JobItemPublic(BaseModel):
    key: str
    status: str
    result: Any
    worker: str | None
    attempt: int
    finished_at: datetime


class JobKindPublic(BaseModel):
    name: str
    title: str
    max_attempts: int
    permission: str | None


def _visible(session: Session, principal: Principal, job_id: int, permission: str) -> Job:
    job = store.load(session, job_id)
    allowed = principal.visible_departments(permission)
    if allowed is not None and job.department_id not in allowed:
        # Same answer as a missing job: other departments' jobs are not even confirmed to exist.
        raise NotFound(f"任务 {job_id} 不存在", hint="只能查看本部门的任务")
    return job


@router.get("", response_model=list[JobPublic])
def list_jobs(
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.read")],
    status: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[JobPublic]:
    rows = store.list_jobs(
        session,
        status=status,
        kind=kind,
        departments=principal.visible_departments("job.read"),
        limit=limit,
        offset=offset,
    )
    return [JobPublic.of(job, settings.data_dir) for job in rows]


@router.get("/kinds", response_model=list[JobKindPublic])
def list_kinds(principal: Annotated[Principal, require("job.read")]) -> list[JobKindPublic]:
    return [
        JobKindPublic(
            name=k.name, title=k.title, max_attempts=k.max_attempts, permission=k.permission
        )
        for k in jobs.all_kinds()
        if k.submittable
    ]


@router.get("/{job_id}", response_model=JobPublic)
def get_job(
    job_id: int,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.read")],
) -> JobPublic:
    return JobPublic.of(_visible(session, principal, job_id, "job.read"), settings.data_dir)


@router.get("/{job_id}/items", response_model=list[JobItemPublic])
def get_items(
    job_id: int,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.read")],
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[JobItemPublic]:
    _visible(session, principal, job_id, "job.read")
    return [
        JobItemPublic(
            key=i.key,
            status=i.status,
            result=public_value(i.result, settings.data_dir),
            worker=i.worker,
            attempt=i.attempt,
            finished_at=i.finished_at,
        )
        for i in store.items(session, job_id, limit=limit, offset=offset)
    ]


def _department_for(principal: Principal, permission: str, asked: int | None) -> int | None:
    allowed = principal.visible_departments(permission)
    if asked is not None:
        if not principal.can(permission, asked):
            raise PermissionDenied(f"不能为部门 {asked} 提交任务", hint="只能为本部门提交任务")
        return asked
    if allowed is None:
        return None
    if len(allowed) == 1:
        return next(iter(allowed))
    raise InvalidInput("请指定 department_id：当前账号属于多个部门", hint="在请求中加上部门编号")


@router.post("", response_model=JobPublic, status_code=202)
def submit_job(
    body: JobSubmit,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.submit")],
) -> JobPublic:
    kind = jobs.get_kind(body.kind)
    if kind.permission is None:
        raise PermissionDenied(f"任务类型 {kind.name} 只能由系统提交")
    if kind.via is not None:
        raise PermissionDenied(
            f"任务类型 {kind.name} 不能通过通用任务接口提交", hint=f"请使用 {kind.via}"
        )
    department_id = _department_for(principal, kind.permission, body.department_id)
    job = jobs.submit(
        session, kind.name, body.params, created_by=principal.name, department_id=department_id
    )
    audit(session, "job.submit", actor=principal.name, target=f"job:{job.id}", kind=kind.name)
    return JobPublic.of(job, settings.data_dir)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(
    job_id: int,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.cancel")],
) -> JobPublic:
    _visible(session, principal, job_id, "job.cancel")
    job = store.request_cancel(session, job_id)
    audit(session, "job.cancel", actor=principal.name, target=f"job:{job_id}")
    return JobPublic.of(job, settings.data_dir)


@router.post("/{job_id}/retry", response_model=JobPublic)
def retry_job(
    job_id: int,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("job.submit")],
) -> JobPublic:
    _visible(session, principal, job_id, "job.submit")
    job = store.requeue_for_retry(session, job_id)
    jobs.notify_after_commit(session, job)
    audit(session, "job.retry", actor=principal.name, target=f"job:{job_id}")
    return JobPublic.of(job, settings.data_dir)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def install(app: FastAPI) -> None:
    """Point job submission at the configured queue and, on the embedded default, run the
    in-process worker for the app's lifetime. With Redis the server stays stateless."""
    previous: Lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        settings, db = app_.state.settings, app_.state.db
        jobs.configure(settings)
        job_settings = load_job_settings()
        worker = None
        if not settings.redis_url and job_settings.embedded_worker:
            worker = EmbeddedWorker(db, settings, job_settings)
            worker.start()
        try:
            async with previous(app_) as state:
                yield state
        finally:
            if worker is not None:
                await asyncio.to_thread(worker.stop)

    app.router.lifespan_context = lifespan
