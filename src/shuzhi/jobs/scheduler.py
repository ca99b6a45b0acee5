"""Periodic jobs and the upkeep every deployment needs, run by one leader at a time.

Periodic jobs (quality scans, audit retention, review-deadline escalation) are declared in code
with :func:`periodic` and copied once into the ``job_schedules`` table, where an operator may
change the interval or disable them. Any number of workers run :class:`Maintenance`; a named
lease in ``job_leases`` elects one leader, and each schedule advances by compare-and-set on its
``next_run_at``, so even two leaders (a paused one waking up) cannot submit the same run twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from shuzhi.jobs import store
from shuzhi.jobs.queue import JobQueue
from shuzhi.jobs.settings import JobSettings
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobLease, JobSchedule

log = logging.getLogger(__name__)

LEADER = "scheduler"


@dataclass(frozen=True)
class Periodic:
    name: str
    kind: str
    every: timedelta
    params: dict[str, Any] = field(default_factory=dict)


_PERIODIC: dict[str, Periodic] = {}


def periodic(
    name: str, kind: str, *, every: timedelta, params: dict[str, Any] | None = None
) -> None:
    """Declare that ``kind`` runs every ``every`` (first run one interval after first start)."""
    if every < timedelta(seconds=1):
        raise ValueError("a periodic job runs at most once a second")
    _PERIODIC[name] = Periodic(name, kind, every, dict(params or {}))


def declared() -> list[Periodic]:
    return list(_PERIODIC.values())


def sync_schedules(db: Database) -> int:
    """Insert declared schedules missing from the table; rows already there are left as set."""
    added = 0
    with db.session() as session:
        existing = set(session.scalars(select(JobSchedule.name)))
        for spec in _PERIODIC.values():
            if spec.name in existing:
                continue
            session.add(
                JobSchedule(
                    name=spec.name,
                    kind=spec.kind,
                    params=spec.params,
                    interval_seconds=int(spec.every.total_seconds()),
                    next_run_at=utcnow() + spec.every,
                    enabled=True,
                    created_at=utcnow(),
                )
            )
            added += 1
    return added


def acquire(db: Database, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; False while another holds it."""
    now = utcnow()
    until = now + timedelta(seconds=ttl)
    with db.session() as session:
        result = session.execute(
            update(JobLease)
            .where(
                JobLease.name == name,
                or_(JobLease.holder == holder, JobLease.lease_until < now),
            )
            .values(holder=holder, lease_until=until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if session.get(JobLease, name) is not None:
            return False
    try:
        with db.session() as session:
            session.add(JobLease(name=name, holder=holder, lease_until=until))
        return True
    except IntegrityError:
        return False


def release_lease(db: Database, name: str, holder: str) -> None:
    with db.session() as session:
        lease = session.get(JobLease, name)
        if lease is not None and lease.holder == holder:
            session.delete(lease)


def tick(db: Database, queue: JobQueue) -> list[int]:
    """Submit every due schedule once; returns the new job ids."""
    now = utcnow()
    with db.session() as session:
        due = session.scalars(
            select(JobSchedule).where(JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= now)
        ).all()
    submitted = []
    for schedule in due:
        job_id = _fire(db, queue, schedule)
        if job_id is not None:
            submitted.append(job_id)
    return submitted


def _fire(db: Database, queue: JobQueue, schedule: JobSchedule) -> int | None:
    from shuzhi.jobs.api import submit

    next_run = utcnow() + timedelta(seconds=schedule.interval_seconds)
    with db.session() as session:
        advanced = session.execute(
            update(JobSchedule)
            .where(JobSchedule.id == schedule.id, JobSchedule.next_run_at == schedule.next_run_at)
            .values(next_run_at=next_run)
            .execution_options(synchronize_session=False)
        )
        if advanced.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another scheduler fired it
        if _still_active(session, schedule.last_job_id):
            # Runs must not pile up behind a slow one (a scan longer than its interval).
            log.info(
                "schedule %s skipped: job %s still active", schedule.name, schedule.last_job_id
            )
            return None
        job = submit(
            session,
            schedule.kind,
            schedule.params,
            created_by=f"schedule:{schedule.name}",
            queue=queue,
        )
        session.execute(
            update(JobSchedule)
            .where(JobSchedule.id == schedule.id)
            .values(last_job_id=job.id)
            .execution_options(synchronize_session=False)
        )
        return job.id


def _still_active(session: Any, job_id: int | None) -> bool:
    if job_id is None:
        return False
    status = session.scalar(select(Job.status).where(Job.id == job_id))
    return status in (store.QUEUED, store.RUNNING)


class Maintenance(threading.Thread):
    """The upkeep loop of a worker: leader election, schedules, expired leases, lost messages."""

    def __init__(self, db: Database, queue: JobQueue, job_settings: JobSettings, holder: str):
        super().__init__(name="jobs-maintenance", daemon=True)
        self.db, self.queue, self.cfg, self.holder = db, queue, job_settings, holder
        self._halt = threading.Event()
        self._synced = False

    def run(self) -> None:
        while True:
            try:
                self.once()
            except Exception:
                log.warning("job maintenance failed; retrying next round", exc_info=True)
            if self._halt.wait(self.cfg.sweep_seconds):
                return

    def once(self) -> None:
        ttl = max(self.cfg.sweep_seconds * 3, 1.0)
        if not acquire(self.db, LEADER, self.holder, ttl):
            return
        if not self._synced:
            # The schedules are declared by the job modules (``periodic(...)`` at import): load
            # them first, or a worker that has not yet run a job would sync none, ever.
            from shuzhi.jobs.registry import discover

            discover()
            sync_schedules(self.db)
            self._synced = True
        store.reap(self.db)
        tick(self.db, self.queue)
        if self.queue.remote:
            self._resend()

    def _resend(self) -> None:
        ids = store.unsent(self.db, self.cfg.resend_seconds)
        for job_id in ids:
            self.queue.send(job_id)
        store.mark_sent(self.db, ids)
        if ids:
            log.info("re-sent %s job messages", len(ids))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
        release_lease(self.db, LEADER, self.holder)


def list_schedules(db: Database) -> list[JobSchedule]:
    with db.session() as session:
        return list(session.scalars(select(JobSchedule).order_by(JobSchedule.name)))


def update_schedule(
    db: Database, name: str, *, every_seconds: int | None = None, enabled: bool | None = None
) -> JobSchedule:
    """Change a schedule's interval (the next run moves accordingly) or switch it on or off."""
    from shuzhi.errors import InvalidInput, NotFound

    with db.session() as session:
        schedule = session.scalar(select(JobSchedule).where(JobSchedule.name == name))
        if schedule is None:
            known = "、".join(session.scalars(select(JobSchedule.name))) or "（无）"
            raise NotFound(f"没有名为 {name!r} 的定时任务；现有：{known}")
        if every_seconds is not None:
            if every_seconds < 1:
                raise InvalidInput("间隔至少 1 秒", hint="--every 以秒为单位，例如 86400 表示每天")
            schedule.interval_seconds = every_seconds
            schedule.next_run_at = utcnow() + timedelta(seconds=every_seconds)
        if enabled is not None:
            schedule.enabled = enabled
        session.flush()
        return schedule
