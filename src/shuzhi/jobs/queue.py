"""The queue seam: how a worker hears that a job is waiting. The database stays the truth.

Two implementations, chosen by ``SHUZHI_REDIS_URL``:

* :class:`DatabaseQueue` (embedded default): workers poll the ``jobs`` table; ``send`` only wakes
  the workers of this process early.
* :class:`shuzhi.jobs.redis_queue.RedisQueue`: a message carrying the job id goes to a dramatiq
  queue on Redis, where any worker on any machine receives it.

Either way a message is only a hint: a worker acts on it by claiming the job in the database,
which succeeds once, so a lost message is re-sent by the sweeper and a duplicate does nothing.
"""

from __future__ import annotations

import threading
from typing import Protocol

from shuzhi.config import Settings, get_settings


class JobQueue(Protocol):
    #: True when messages leave the process (workers elsewhere rely on them).
    remote: bool

    def send(self, job_id: int, *, delay: float = 0.0) -> None:
        """Tell workers that ``job_id`` is due now, or after ``delay`` seconds."""
        ...


#: Set whenever a job is submitted in this process, so idle embedded workers wake at once.
wakeup = threading.Event()


class DatabaseQueue:
    remote = False

    def send(self, job_id: int, *, delay: float = 0.0) -> None:
        if delay <= 0:
            wakeup.set()


_current: JobQueue | None = None
_lock = threading.Lock()


def queue_for(settings: Settings) -> JobQueue:
    if not settings.redis_url:
        return DatabaseQueue()
    from shuzhi.jobs.redis_queue import RedisQueue

    return RedisQueue.shared(settings.redis_url)


def configure(settings: Settings) -> JobQueue:
    """Make ``settings`` decide the queue :func:`submit` sends to in this process."""
    global _current
    with _lock:
        _current = queue_for(settings)
        return _current


def current_queue() -> JobQueue:
    """The configured queue, or the one the environment's settings name."""
    with _lock:
        queue = _current
    return queue if queue is not None else configure(get_settings())
