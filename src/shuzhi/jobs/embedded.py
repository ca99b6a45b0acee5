"""The embedded worker: threads in this process claiming jobs from the database.

Used by ``shuzhi serve`` when no Redis is configured, and by ``shuzhi worker`` without Redis
(several such workers may share one PostgreSQL database: claims use ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import logging
import threading

from shuzhi.config import Settings
from shuzhi.jobs import store
from shuzhi.jobs.queue import DatabaseQueue, wakeup
from shuzhi.jobs.runner import execute, worker_name
from shuzhi.jobs.scheduler import Maintenance
from shuzhi.jobs.settings import JobSettings
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)


class EmbeddedWorker:
    """``threads`` job threads plus one maintenance thread; ``start()`` then ``stop()``."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        job_settings: JobSettings,
        *,
        threads: int | None = None,
        maintenance: bool = True,
    ) -> None:
        self.db, self.settings, self.cfg = db, settings, job_settings
        self.name = worker_name("embedded")
        self.threads = threads or job_settings.threads
        self._halt = threading.Event()
        self._pool: list[threading.Thread] = []
        self._inflight: dict[int, store.Claim] = {}
        self._lock = threading.Lock()
        self._maintenance = (
            Maintenance(db, DatabaseQueue(), job_settings, self.name) if maintenance else None
        )

    def start(self) -> None:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"job-worker-{i}", daemon=True)
            thread.start()
            self._pool.append(thread)
        if self._maintenance is not None:
            self._maintenance.start()
        log.info("embedded job worker %s started with %s threads", self.name, self.threads)

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                ran = self._run_one()
            except Exception:
                log.warning("job worker loop error; continuing", exc_info=True)
                ran = False
            if not ran:
                wakeup.wait(self.cfg.poll_seconds)
                wakeup.clear()

    def _run_one(self) -> bool:
        claim = store.claim_next(
            self.db, f"{self.name}/{threading.get_ident()}", self.cfg.lease_seconds
        )
        if claim is None:
            return False
        with self._lock:
            self._inflight[claim.job_id] = claim
        try:
            execute(self.db, self.settings, claim, lease=self.cfg.lease_seconds)
        finally:
            with self._lock:
                self._inflight.pop(claim.job_id, None)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs, wait up to ``timeout`` for running ones, hand back the rest."""
        self._halt.set()
        wakeup.set()
        for thread in self._pool:
            thread.join(timeout=timeout / max(len(self._pool), 1))
        with self._lock:
            unfinished = list(self._inflight.values())
        for claim in unfinished:
            store.release(self.db, claim)
        if self._maintenance is not None:
            self._maintenance.stop()
        log.info("embedded job worker %s stopped; %s jobs handed back", self.name, len(unfinished))
