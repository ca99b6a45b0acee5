"""What a running job sees: its parameters' database, progress, per-item results and cancelling.

Idempotent items are the heart of crash safety. ``ctx.run_item(key, fn)`` runs ``fn(session)``
and, in the same transaction, records the item as done with its result and checks that this
worker still holds the job's lease. Whatever ``fn`` writes through ``session`` (work orders,
index rows...) therefore commits together with the item or not at all, so a job resumed after a
crash skips finished items and redoes only the unfinished one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError
from shuzhi.jobs import store
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Job, JobItem

log = logging.getLogger(__name__)

T = TypeVar("T")
_MISSING: Any = object()


class JobCancelled(ShuzhiError):
    """Raised inside a job when someone asked to cancel it; the job ends as ``cancelled``."""

    code = "job_cancelled"


class LeaseLost(ShuzhiError):
    """This worker no longer owns the job (it stalled past its lease and another took over)."""

    code = "lease_lost"


ProgressCallback = Callable[[int, int | None], None]


class JobContext:
    """Handed to every job function as ``ctx``. Thread-confined to the job's own thread."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        claim: store.Claim,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.job_id = claim.job_id
        self.kind = claim.kind
        self.attempt = claim.attempt
        self.worker = claim.worker
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self._lost = threading.Event()
        self._done = claim.progress_done
        self._total: int | None = None
        # Only the lease holder adds items, so the set read once stays true while we hold it.
        self._finished: set[str] | None = None

    # -- state the heartbeat thread feeds --------------------------------------------------

    def _flag(self, *, owned: bool, cancel: bool) -> None:
        if not owned:
            self._lost.set()
        if cancel:
            self._cancel.set()

    def cancelled(self) -> bool:
        """True once someone asked to cancel this job (seen within one lease renewal)."""
        return self._cancel.is_set()

    def check(self) -> None:
        """Stop here if the job was cancelled or this worker lost it. Call between steps."""
        if self._lost.is_set():
            raise LeaseLost(f"任务 {self.job_id} 已由其他工作进程接管")
        if self._cancel.is_set():
            raise JobCancelled(f"任务 {self.job_id} 已取消")

    # -- progress ---------------------------------------------------------------------------

    def set_total(self, total: int) -> None:
        """How many items the job has; ``run_item`` counts the finished ones."""
        self._total = total
        self._report()

    def progress(self, done: int, total: int | None = None) -> None:
        """Report progress directly, for jobs that do not use items."""
        self._done = done
        if total is not None:
            self._total = total
        self._report()

    def _report(self) -> None:
        if not store.set_progress(self.db, self.job_id, self.worker, self._done, self._total):
            self._lost.set()
        if self._on_progress is not None:
            self._on_progress(self._done, self._total)
        self.check()

    # -- idempotent items -------------------------------------------------------------------

    def done_keys(self, keys: Iterable[str] | None = None) -> set[str]:
        """Keys already finished (all of them, or those among ``keys``)."""
        query = select(JobItem.key).where(JobItem.job_id == self.job_id)
        with self.db.session() as session:
            found = set(session.scalars(query))
        return found if keys is None else found & set(keys)

    def pending(self, keys: Iterable[str]) -> list[str]:
        """``keys`` minus the finished ones, in order: what a resumed job still has to do."""
        wanted = list(keys)
        done = self.done_keys()
        return [k for k in wanted if k not in done]

    def item_result(self, key: str) -> Any:
        """The stored result of a finished item, or ``None``."""
        with self.db.session() as session:
            return session.scalar(
                select(JobItem.result).where(JobItem.job_id == self.job_id, JobItem.key == key)
            )

    def run_item(self, key: str, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` once for ``key``; a finished key returns its stored result.

        The result must be JSON-serialisable. ``fn``'s writes through ``session`` commit in the
        same transaction as the item, so they happen exactly once even across crashes.
        """
        self.check()
        if key in self._finished_keys():
            return self._stored(key)  # type: ignore[no-any-return]
        try:
            with self.db.session() as session:
                result = fn(session)
                self._record(session, key, result)
        except IntegrityError:
            # The same key was recorded concurrently: keep that result, drop ours with the rollback.
            stored = self._stored(key)
            if stored is _MISSING:
                raise
            return stored  # type: ignore[no-any-return]
        self._advanced([key])
        return result

    def run_batch(
        self, keys: Sequence[str], fn: Callable[[Session, str], T], *, size: int = 100
    ) -> dict[str, T]:
        """Run ``fn(session, key)`` for each unfinished key, ``size`` keys per transaction.

        Same guarantee as :meth:`run_item` at a fraction of the commits, for jobs of many small
        items (a year of work orders). A failing key rolls back its whole chunk, which is then
        retried with the job. Returns the results of the keys run now.
        """
        todo = [k for k in keys if k not in self._finished_keys()]
        results: dict[str, T] = {}
        for start in range(0, len(todo), size):
            self.check()
            chunk = todo[start : start + size]
            with self.db.session() as session:
                done = {key: fn(session, key) for key in chunk}
                self._record_many(session, done)
            results.update(done)
            self._advanced(chunk)
        return results

    def _finished_keys(self) -> set[str]:
        if self._finished is None:
            self._finished = self.done_keys()
        return self._finished

    def _advanced(self, keys: Sequence[str]) -> None:
        self._finished_keys().update(keys)
        self._done += len(keys)
        if self._on_progress is not None:
            self._on_progress(self._done, self._total)

    def _stored(self, key: str) -> Any:
        query = select(JobItem.result, JobItem.id).where(
            JobItem.job_id == self.job_id, JobItem.key == key
        )
        with self.db.session() as session:
            row = session.execute(query).first()
        return _MISSING if row is None else row[0]

    def _record(self, session: Session, key: str, result: Any) -> None:
        self._record_many(session, {key: result})

    def _record_many(self, session: Session, results: dict[str, Any]) -> None:
        if any(len(key) > 255 for key in results):
            raise ValueError("item keys are limited to 255 characters")
        now = utcnow()
        session.add_all(
            JobItem(
                job_id=self.job_id,
                key=key,
                status="done",
                result=result,
                worker=self.worker,
                attempt=self.attempt,
                finished_at=now,
            )
            for key, result in results.items()
        )
        session.flush()
        fenced = session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.locked_by == self.worker, Job.status == "running")
            .values(progress_done=Job.progress_done + len(results))
            .execution_options(synchronize_session=False)
        )
        if fenced.rowcount != 1:  # type: ignore[attr-defined]
            self._lost.set()
            raise LeaseLost(f"任务 {self.job_id} 已由其他工作进程接管，本批结果不保存")
