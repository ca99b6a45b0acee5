"""The job lifecycle on each database backend, run inline or by the embedded worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import shuzhi.jobs.testing  # noqa: F401  (registers the test kinds)
from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.jobs import store
from shuzhi.jobs.embedded import EmbeddedWorker
from shuzhi.jobs.queue import DatabaseQueue
from shuzhi.jobs.runner import INTERNAL_ERROR, execute
from shuzhi.jobs.settings import JobSettings
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobItem

QUEUE = DatabaseQueue()


def _wait(db: Database, job_id: int, *, timeout: float = 20.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(db, job_id)
        if job.status in store.FINISHED:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {jobs.get(db, job_id).status} after {timeout}s")


def _expire_lease(db: Database, job_id: int) -> None:
    """What the passing of time does to a dead worker's lease, without waiting for it."""
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1))
        )


def _item_keys(db: Database, job_id: int) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(JobItem.key).where(JobItem.job_id == job_id)))


def test_submit_persists_a_queued_job(db: Database) -> None:
    job = jobs.submit(db, "test.noop", {"echo": "你好"}, created_by="alice", queue=QUEUE)
    stored = jobs.get(db, job.id)
    assert stored.status == "queued"
    assert stored.params == {"echo": "你好"}
    assert stored.created_by == "alice"
    assert stored.max_attempts == 1


def test_unknown_kind_and_bad_params_are_refused(db: Database) -> None:
    with pytest.raises(InvalidInput, match="未知的任务类型"):
        jobs.submit(db, "no.such.kind", {}, queue=QUEUE)
    with pytest.raises(InvalidInput, match="JSON"):
        jobs.submit(db, "test.noop", {"when": object()}, queue=QUEUE)
    with pytest.raises(NotFound):
        jobs.get(db, 999_999)


def test_run_inline_records_every_item_and_progress(db: Database, settings: Settings) -> None:
    seen: list[tuple[int, int | None]] = []
    job = jobs.run_inline(
        db,
        "test.sleepy_batch",
        {"items": 5},
        settings=settings,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert job.status == "succeeded"
    assert job.result == {"items": 5, "sum_of_squares": 0 + 1 + 4 + 9 + 16}
    assert job.progress_done == 5 and job.progress_total == 5
    assert sorted(_item_keys(db, job.id)) == [f"item-{i:05d}" for i in range(5)]
    assert seen[-1] == (5, 5)


def test_submit_inside_a_rolled_back_transaction_leaves_no_job(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        jobs.submit(session, "test.noop", {}, queue=QUEUE)
        raise RuntimeError("caller fails after submitting")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_crashed_attempt_resumes_without_redoing_items(db: Database, settings: Settings) -> None:
    job = jobs.submit(db, "test.sleepy_batch", {"items": 6}, queue=QUEUE)
    first = store.claim(db, job.id, "worker-a", lease=30)
    assert first is not None
    # Worker A finishes three items, then "dies": nothing more is written, its lease runs out.
    from shuzhi.jobs.context import JobContext

    ctx = JobContext(db, settings, first)
    for i in range(3):
        ctx.run_item(f"item-{i:05d}", lambda _s, i=i: {"index": i, "square": i * i, "worker": "a"})
    assert store.claim(db, job.id, "worker-b", lease=30) is None  # lease still valid
    _expire_lease(db, job.id)
    second = store.claim(db, job.id, "worker-b", lease=30)
    assert second is not None and second.attempt == 2
    execute(db, settings, second, lease=30)

    done = jobs.get(db, job.id)
    assert done.status == "succeeded"
    assert done.result == {"items": 6, "sum_of_squares": sum(i * i for i in range(6))}
    with db.session() as session:
        workers = dict(
            session.execute(
                select(JobItem.key, JobItem.worker).where(JobItem.job_id == job.id)
            ).all()
        )
    assert len(workers) == 6
    assert {workers[f"item-{i:05d}"] for i in range(3)} == {"worker-a"}
    assert {workers[f"item-{i:05d}"] for i in range(3, 6)} == {"worker-b"}


def test_a_worker_that_lost_its_lease_cannot_write(db: Database, settings: Settings) -> None:
    from shuzhi.jobs.context import JobContext, LeaseLost

    job = jobs.submit(db, "test.sleepy_batch", {"items": 2}, queue=QUEUE)
    stale = store.claim(db, job.id, "stale", lease=30)
    assert stale is not None
    _expire_lease(db, job.id)
    assert store.claim(db, job.id, "fresh", lease=30) is not None
    ctx = JobContext(db, settings, stale)
    with pytest.raises(LeaseLost):
        ctx.run_item("item-00000", lambda _s: {"square": 0})
    assert _item_keys(db, job.id) == []
    assert not store.mark_succeeded(db, job.id, "stale", {"x": 1})
    assert jobs.get(db, job.id).status == "running"


def test_failures_retry_with_backoff_then_succeed(db: Database, settings: Settings) -> None:
    job = jobs.submit(db, "test.flaky", {"succeed_on": 2}, queue=QUEUE)
    claim = store.claim(db, job.id, "w", lease=30)
    assert claim is not None
    run_at = execute(db, settings, claim, lease=30)
    failed_once = jobs.get(db, job.id)
    assert failed_once.status == "queued" and run_at is not None
    assert failed_once.error == INTERNAL_ERROR  # the RuntimeError's text goes to the log only
    assert failed_once.next_run_at is not None and failed_once.next_run_at > utcnow() - timedelta(
        seconds=5
    )
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job.id).values(next_run_at=utcnow() - timedelta(seconds=1))
        )
    again = store.claim(db, job.id, "w", lease=30)
    assert again is not None
    execute(db, settings, again, lease=30)
    final = jobs.get(db, job.id)
    assert final.status == "succeeded" and final.result == {"attempt": 2} and final.attempts == 2


def test_exhausted_attempts_fail_and_keep_the_error(db: Database, settings: Settings) -> None:
    job = jobs.submit(db, "test.flaky", {"succeed_on": 99}, max_attempts=2, queue=QUEUE)
    for _ in range(2):
        with db.session() as session:
            session.execute(update(Job).where(Job.id == job.id).values(next_run_at=None))
        claim = store.claim(db, job.id, "w", lease=30)
        assert claim is not None
        execute(db, settings, claim, lease=30)
    final = jobs.get(db, job.id)
    assert final.status == "failed" and final.attempts == 2
    assert final.error == INTERNAL_ERROR


def test_a_user_error_fails_at_once(db: Database, settings: Settings) -> None:
    job = jobs.run_inline(db, "test.flaky", {"bad": True}, settings=settings)
    assert job.status == "failed" and job.attempts == 1
    assert "模拟错误的输入文件" in (job.error or "")


def test_cancel_and_retry(db: Database, settings: Settings) -> None:
    job = jobs.submit(db, "test.sleepy_batch", {"items": 3}, queue=QUEUE)
    assert jobs.cancel(db, job.id).status == "cancelled"
    with pytest.raises(Conflict):
        jobs.cancel(db, job.id)
    assert jobs.retry(db, job.id, queue=QUEUE).status == "queued"
    with pytest.raises(Conflict):
        jobs.retry(db, job.id, queue=QUEUE)
    finished = jobs.resume_inline(db, job.id, settings=settings)
    assert finished.status == "succeeded"


def test_cancelling_a_running_job_stops_it_between_items(db: Database, settings: Settings) -> None:
    worker = EmbeddedWorker(
        db, settings, JobSettings(lease_seconds=1.5, poll_seconds=0.05), threads=1
    )
    worker.start()
    try:
        job = jobs.submit(db, "test.sleepy_batch", {"items": 200, "sleep": 0.02}, queue=QUEUE)
        deadline = time.monotonic() + 10
        while jobs.get(db, job.id).progress_done < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        jobs.cancel(db, job.id)
        final = _wait(db, job.id)
    finally:
        worker.stop()
    assert final.status == "cancelled"
    assert 3 <= len(_item_keys(db, job.id)) < 200


def test_the_embedded_worker_runs_many_jobs_once_each(db: Database, settings: Settings) -> None:
    worker = EmbeddedWorker(db, settings, JobSettings(poll_seconds=0.05), threads=3)
    worker.start()
    try:
        ids = [jobs.submit(db, "test.sleepy_batch", {"items": 4}, queue=QUEUE).id for _ in range(8)]
        finished = [_wait(db, job_id) for job_id in ids]
    finally:
        worker.stop()
    assert {j.status for j in finished} == {"succeeded"}
    assert all(j.attempts == 1 for j in finished)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobItem)) == 8 * 4


def test_reap_settles_abandoned_jobs(db: Database) -> None:
    cancelled = jobs.submit(db, "test.noop", {}, max_attempts=3, queue=QUEUE)
    exhausted = jobs.submit(db, "test.noop", {}, max_attempts=1, queue=QUEUE)
    for job in (cancelled, exhausted):
        assert store.claim(db, job.id, "gone", lease=30) is not None
        _expire_lease(db, job.id)
    with db.session() as session:
        session.get(Job, cancelled.id).cancel_requested = True  # type: ignore[union-attr]
    store.reap(db)
    assert jobs.get(db, cancelled.id).status == "cancelled"
    gone = jobs.get(db, exhausted.id)
    assert gone.status == "failed" and "多次中断" in (gone.error or "")


def test_release_hands_a_job_back_without_using_an_attempt(db: Database) -> None:
    job = jobs.submit(db, "test.noop", {}, queue=QUEUE)
    claim = store.claim(db, job.id, "leaving", lease=30)
    assert claim is not None and store.release(db, claim)
    back = jobs.get(db, job.id)
    assert back.status == "queued" and back.attempts == 0 and back.locked_by is None


def test_run_at_delays_a_job(db: Database) -> None:
    job = jobs.submit(db, "test.noop", {}, run_at=utcnow() + timedelta(hours=1), queue=QUEUE)
    assert store.claim_next(db, "w", lease=30) is None
    assert jobs.get(db, job.id).status == "queued"


def test_run_batch_resumes_after_a_crash_without_duplicates(
    db: Database, settings: Settings
) -> None:
    from shuzhi.jobs.context import JobContext

    job = jobs.submit(db, "test.sleepy_batch", {"items": 25, "batch": 10}, queue=QUEUE)
    first = store.claim(db, job.id, "worker-a", lease=30)
    assert first is not None
    ctx = JobContext(db, settings, first)
    keys = [f"item-{i:05d}" for i in range(25)]

    def explode_at_15(_session: object, key: str) -> dict[str, int]:
        if key == "item-00015":
            raise RuntimeError("crash in the second chunk")
        return {"square": int(key[5:]) ** 2}

    with pytest.raises(RuntimeError):
        ctx.run_batch(keys, explode_at_15, size=10)
    assert len(_item_keys(db, job.id)) == 10  # the first chunk only; the second rolled back
    _expire_lease(db, job.id)
    second = store.claim(db, job.id, "worker-b", lease=30)
    assert second is not None
    execute(db, settings, second, lease=30)
    done = jobs.get(db, job.id)
    assert done.status == "succeeded" and done.progress_done == 25
    assert sorted(_item_keys(db, job.id)) == keys
