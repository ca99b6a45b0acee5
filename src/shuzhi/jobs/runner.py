"""Running one claimed job: lease renewal beside it, then success, retry, failure or cancel."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError, UserError
from shuzhi.jobs import store
from shuzhi.jobs.context import JobCancelled, JobContext, LeaseLost, ProgressCallback
from shuzhi.jobs.registry import JobKind, get_kind
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)

INTERNAL_ERROR = "任务执行出错（内部错误，已记入日志）"


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


def _describe(exc: BaseException, params: dict[str, Any]) -> str:
    """What the job's reader is told: our own errors in their words, anything else in general."""
    if not isinstance(exc, ShuzhiError):
        return INTERNAL_ERROR
    text = str(exc).strip() or "（无说明）"
    for stored, original in _original_names(params).items():
        text = text.replace(stored, original).replace(PurePath(stored).name, original)
    return text[:4000]


def _original_names(params: dict[str, Any]) -> dict[str, str]:
    """Stored upload path → the file name the person gave it, for the files the job names.

    A kind that keeps uploads under names of its own records the originals in ``filenames``
    (param key → name); the older ``filename`` param names the ``input`` file.
    """
    given = dict(params.get("filenames") or {})
    if params.get("filename") and "input" not in given:
        given["input"] = params["filename"]
    return {
        str(params[key]): str(name)
        for key, name in given.items()
        if isinstance(params.get(key), str) and params[key] and name
    }


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
        result = kind.fn(ctx, kind.check(claim.params))
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
    run_at = store.mark_failed(db, claim, _describe(exc, claim.params), retry_in=retry_in)
    then = f"retry at {run_at:%H:%M:%S}" if run_at else "no retry"
    if isinstance(exc, ShuzhiError):
        # Our own errors are written for the job's reader, who sees them; the log notes the kind.
        log.warning(
            "job %s (%s) attempt %s failed with %s; %s",
            claim.job_id,
            kind.name,
            claim.attempt,
            type(exc).__name__,
            then,
        )
    else:
        # A bug or a library's error (SQL, DuckDB): the reader is told only that it happened, the
        # operator gets the whole traceback here.
        log.error(
            "job %s (%s) attempt %s failed unexpectedly; %s",
            claim.job_id,
            kind.name,
            claim.attempt,
            then,
            exc_info=exc,
        )
    return run_at


def _max_attempts(db: Database, claim: store.Claim) -> int:
    with db.session() as session:
        return store.load(session, claim.job_id).max_attempts
