"""Periodic jobs and the leader lease, on each database backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import shuzhi.jobs.testing  # noqa: F401  (registers the test kinds)
from shuzhi.jobs import registry, scheduler, store
from shuzhi.jobs.queue import DatabaseQueue
from shuzhi.jobs.scheduler import Maintenance, acquire, sync_schedules, tick
from shuzhi.jobs.settings import JobSettings
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobLease, JobSchedule

QUEUE = DatabaseQueue()


@pytest.fixture
def declared() -> Iterator[None]:
    """Only the test's own schedule. The real job modules are imported first, so the worker's
    own discovery (which imports each module once) adds nothing to it."""
    registry.discover()
    saved = dict(scheduler._PERIODIC)
    scheduler._PERIODIC.clear()
    scheduler.periodic("nightly-noop", "test.noop", every=timedelta(hours=24), params={"echo": 1})
    yield
    scheduler._PERIODIC.clear()
    scheduler._PERIODIC.update(saved)


def _make_due(db: Database) -> None:
    with db.session() as session:
        session.execute(update(JobSchedule).values(next_run_at=utcnow() - timedelta(seconds=1)))


def _jobs(db: Database) -> list[Job]:
    with db.session() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_sync_inserts_declared_schedules_once(db: Database, declared: None) -> None:
    assert sync_schedules(db) == 1
    assert sync_schedules(db) == 0
    with db.session() as session:
        row = session.scalar(select(JobSchedule))
        assert row is not None and row.interval_seconds == 86400 and row.params == {"echo": 1}
        assert row.next_run_at > utcnow() + timedelta(hours=23)


def test_a_due_schedule_fires_once_even_with_two_schedulers(db: Database, declared: None) -> None:
    sync_schedules(db)
    assert tick(db, QUEUE) == []
    _make_due(db)
    with db.session() as session:
        stale = session.scalars(select(JobSchedule)).all()
    # Two schedulers read the same due row; only the compare-and-set winner submits.
    first = scheduler._fire(db, QUEUE, stale[0])
    second = scheduler._fire(db, QUEUE, stale[0])
    assert first is not None and second is None
    created = _jobs(db)
    assert [(j.kind, j.params, j.created_by) for j in created] == [
        ("test.noop", {"echo": 1}, "schedule:nightly-noop")
    ]


def test_runs_do_not_pile_up_behind_an_active_one(db: Database, declared: None) -> None:
    sync_schedules(db)
    _make_due(db)
    assert len(tick(db, QUEUE)) == 1
    _make_due(db)
    assert tick(db, QUEUE) == []  # the first run is still queued
    with db.session() as session:
        session.execute(update(Job).values(status=store.SUCCEEDED))
    _make_due(db)
    assert len(tick(db, QUEUE)) == 1


def test_disabled_schedules_do_not_fire(db: Database, declared: None) -> None:
    sync_schedules(db)
    _make_due(db)
    with db.session() as session:
        session.execute(update(JobSchedule).values(enabled=False))
    assert tick(db, QUEUE) == []


def test_leader_lease_is_exclusive_until_it_expires(db: Database) -> None:
    assert acquire(db, "scheduler", "a", ttl=30)
    assert not acquire(db, "scheduler", "b", ttl=30)
    assert acquire(db, "scheduler", "a", ttl=30)  # renewal
    with db.session() as session:
        session.execute(update(JobLease).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert acquire(db, "scheduler", "b", ttl=30)
    assert not acquire(db, "scheduler", "a", ttl=30)


def test_only_the_leader_maintenance_fires_schedules(db: Database, declared: None) -> None:
    cfg = JobSettings(sweep_seconds=0.1)
    leader = Maintenance(db, QUEUE, cfg, "leader")
    follower = Maintenance(db, QUEUE, cfg, "follower")
    leader.once()
    _make_due(db)
    follower.once()
    assert _jobs(db) == []
    leader.once()
    assert len(_jobs(db)) == 1


class _RecordingQueue:
    remote = True

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[int] = []
        self.fail = fail

    def send(self, job_id: int, *, delay: float = 0.0) -> None:
        if self.fail:
            raise ConnectionError("redis down")
        self.sent.append(job_id)


def test_a_message_lost_at_submit_is_resent_by_the_leader(db: Database) -> None:
    from shuzhi import jobs

    down = _RecordingQueue(fail=True)
    job = jobs.submit(db, "test.noop", {}, queue=down)  # accepted although Redis is down
    assert jobs.get(db, job.id).status == "queued"

    up = _RecordingQueue()
    maintenance = Maintenance(db, up, JobSettings(resend_seconds=60), "leader")
    maintenance.once()
    assert up.sent == []  # its first message is not yet overdue
    with db.session() as session:
        session.execute(update(Job).values(enqueued_at=utcnow() - timedelta(seconds=61)))
    maintenance.once()
    maintenance.once()
    assert up.sent == [job.id]  # sent once, then marked as sent


def test_operators_change_and_disable_schedules(db: Database, declared: None) -> None:
    from shuzhi.errors import NotFound
    from shuzhi.jobs.scheduler import list_schedules, update_schedule

    sync_schedules(db)
    changed = update_schedule(db, "nightly-noop", every_seconds=3600, enabled=False)
    assert changed.interval_seconds == 3600 and not changed.enabled
    assert changed.next_run_at < utcnow() + timedelta(seconds=3601)
    assert [(s.name, s.enabled) for s in list_schedules(db)] == [("nightly-noop", False)]
    sync_schedules(db)  # a restart keeps the operator's change
    assert list_schedules(db)[0].interval_seconds == 3600
    with pytest.raises(NotFound, match="nightly-noop"):
        update_schedule(db, "nope", enabled=True)


def test_the_platform_declares_its_periodic_jobs_and_a_worker_stores_them(db: Database) -> None:
    """Quality scans, audit retention and review-deadline escalation are scheduled by default."""
    from shuzhi.jobs.registry import all_kinds

    kinds = {k.name for k in all_kinds()}  # imports every shuzhi.*.jobs module
    declared = {p.name: p for p in scheduler.declared()}
    wanted = {"data-quality-daily", "audit-retention", "review-escalation", "privacy-retention"}

    assert wanted <= set(declared)
    assert {declared[name].kind for name in wanted} <= kinds
    sync_schedules(db)
    with db.session() as session:
        stored = set(session.scalars(select(JobSchedule.name)))
    assert wanted <= stored


def test_the_worker_loads_the_job_modules_before_it_syncs_their_schedules(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh worker has imported no job module yet: its first round must import them (where
    ``periodic`` declares the schedules) before syncing, or it syncs nothing, ever."""
    saved = dict(scheduler._PERIODIC)
    scheduler._PERIODIC.clear()

    def discover_modules(extra: str | None = None) -> None:  # what importing a module does
        scheduler.periodic("weekly-noop", "test.noop", every=timedelta(days=7))

    monkeypatch.setattr(registry, "discover", discover_modules)
    try:
        Maintenance(db, QUEUE, JobSettings(sweep_seconds=0.1), "leader").once()
    finally:
        scheduler._PERIODIC.clear()
        scheduler._PERIODIC.update(saved)
    with db.session() as session:
        assert list(session.scalars(select(JobSchedule.name))) == ["weekly-noop"]


def test_the_platform_declares_its_upkeep_schedules() -> None:
    registry.discover()
    names = {p.kind for p in scheduler.declared()}
    assert {"review.escalate", "audit.retention", "data.quality", "privacy.retention"} <= names
