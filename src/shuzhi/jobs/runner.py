"""Running one claimed job: lease renewal beside it, then success, retry, failure or cancel."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from shuzhi.config import Settings
from shuzhi.errors import UserError
from shuzhi.jobs import store
from shuzhi.jobs.context import JobCancelled, JobContext, LeaseLost, ProgressCallback
from shuzhi.jobs.registry import JobKind, get_kind
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)


def worker_name(role: str = "worker") -> str:
    """A name unique to this process and call, shown in ``locked_by``."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Heartbeat(threading.Thread):
    """Renews the lease every third of its length; tells the job when it is lost or cancelled."""

    def __init__(self, db: Database, ctx: JobContext, lease: float) -> None:
        super().__init__(name=f"job-{ctx.job_id}-lease", daemon=True)
        self._db, self._ctx, self._lease = db, ctx, lease
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self._lease / 3):
            try:
                owned, cancel = store.renew(
                    self._db, self._ctx.job_id, self._ctx.worker, self._lease
                )
            except Exception:
                # A database hiccup: try again next beat; the lease outlives two misses.
                log.warning("lease renewal of job %s failed", self._ctx.job_id, exc_info=True)
                continue
            self._ctx._flag(owned=owned, cancel=cancel)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def backoff(kind: JobKind, attempt: int) -> timedelta:
    return timedelta(seconds=kind.backoff_seconds * 2 ** max(attempt - 1, 0))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or "（无说明）"
    return f"{type(exc).__name__}: {text}"[:4000]


def execute(
    db: Database,
    settings: Settings,
    claim: store.Claim,
    *,
    lease: float,
    on_progress: ProgressCallback | None = None,
) -> datetime | None:
    """Run a claimed job to its end. Returns when it should run again after a failed attempt."""
    try:
        kind = get_kind(claim.kind)
    except UserError as exc:
        store.mark_failed(db, claim, exc.message, retry_in=None)
        log.error("job %s has an unknown kind %s", claim.job_id, claim.kind)
        return None
    ctx = JobContext(db, settings, claim, on_progress=on_progress)
    beat = _Heartbeat(db, ctx, lease)
    beat.start()
    try:
        return _run(db, kind, ctx, claim)
    finally:
        beat.stop()


def _run(db: Database, kind: JobKind, ctx: JobContext, claim: store.Claim) -> datetime | None:
    log.info(
        "job %s (%s) attempt %s started by %s",
        claim.job_id,
        kind.name,
        claim.attempt,
        claim.worker,
    )
    try:
        result = kind.fn(ctx, claim.params)
        ctx.check()
    except JobCancelled:
        store.mark_cancelled(db, claim.job_id, claim.worker)
        log.info("job %s cancelled", claim.job_id)
        return None
    except LeaseLost:
        log.warning("job %s was taken over by another worker; this attempt stops", claim.job_id)
        return None
    except Exception as exc:
        return _failed(db, kind, claim, exc)
    store.mark_succeeded(db, claim.job_id, claim.worker, result)
    log.info("job %s (%s) succeeded", claim.job_id, kind.name)
    return None


def _failed(db: Database, kind: JobKind, claim: store.Claim, exc: Exception) -> datetime | None:
    # A caller's mistake (bad file, bad parameter) fails the same way every time: no retry.
    retryable = not isinstance(exc, UserError) and claim.attempt < _max_attempts(db, claim)
    retry_in = backoff(kind, claim.attempt) if retryable else None
    run_at = store.mark_failed(db, claim, _describe(exc), retry_in=retry_in)
    # The exception text may quote input data, so the log gets its type only; the job keeps it.
    log.warning(
        "job %s (%s) attempt %s failed with %s; %s",
        claim.job_id,
        kind.name,
        claim.attempt,
        type(exc).__name__,
        f"retry at {run_at:%H:%M:%S}" if run_at else "no retry",
    )
    return run_at


def _max_attempts(db: Database, claim: store.Claim) -> int:
    with db.session() as session:
        return store.load(session, claim.job_id).max_attempts
