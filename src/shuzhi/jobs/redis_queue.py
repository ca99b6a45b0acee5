"""The scale-out queue: dramatiq over Redis, carrying job ids only.

Why dramatiq: it is maintained, small, thread-based (our jobs mostly wait on the database and the
model endpoint), and its Redis broker acknowledges a message only after the actor returns; a
worker that dies without acknowledging is noticed through missing heartbeats and its messages go
back to the queue. We switch its middleware off (no time limit, no retries): retries, backoff,
time and cancelling are the job system's own, kept in the database, so they behave the same with
or without Redis.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import ClassVar

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from shuzhi.config import Settings, hide_password
from shuzhi.errors import UpstreamError
from shuzhi.jobs import store
from shuzhi.jobs.runner import execute, worker_name
from shuzhi.jobs.scheduler import Maintenance
from shuzhi.jobs.settings import JobSettings, load_job_settings
from shuzhi.storage.db import Database, utcnow

log = logging.getLogger(__name__)

QUEUE_NAME = "jobs"
ACTOR_NAME = "shuzhi_job"
# Out of a million broker calls, how many also requeue dead workers' messages. Each worker calls
# about once a second per queue, so 1 in 10 brings a dead worker's messages back within seconds.
MAINTENANCE_CHANCE = 100_000


def check_redis(url: str, timeout: float = 5.0) -> None:
    """Fail with one line naming ``SHUZHI_REDIS_URL`` when Redis cannot be reached."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise UpstreamError(
            f"SHUZHI_REDIS_URL 指向的 Redis 无法连接：{hide_password(url)}（{exc}）；"
            "请确认 Redis 已启动、地址和端口正确，或不设置此项以使用本机数据库队列"
        ) from exc
    finally:
        client.close()


class RedisQueue:
    """Sends job ids to the dramatiq queue; one broker per process, URL and namespace."""

    remote = True
    _shared: ClassVar[dict[tuple[str, str], RedisQueue]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, job_settings: JobSettings) -> None:
        self.broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=job_settings.namespace,
            heartbeat_timeout=job_settings.heartbeat_timeout_ms,
            maintenance_chance=MAINTENANCE_CHANCE,
            middleware=[],
        )
        self.actor: dramatiq.Actor[[int], None] = dramatiq.Actor(
            _on_message,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            priority=0,
            options={},
        )

    @classmethod
    def shared(cls, url: str) -> RedisQueue:
        cfg = load_job_settings()
        key = (url, cfg.namespace)
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(url, cfg)
            return cls._shared[key]

    def send(self, job_id: int, *, delay: float = 0.0) -> None:
        millis = int(delay * 1000)
        self.actor.send_with_options(args=(job_id,), delay=millis if millis > 0 else None)


@dataclass
class _Runtime:
    """What the actor needs in a worker process; set by :class:`RedisWorker`."""

    db: Database
    settings: Settings
    cfg: JobSettings
    queue: RedisQueue
    inflight: dict[int, store.Claim] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_runtime: _Runtime | None = None


def _on_message(job_id: int) -> None:
    runtime = _runtime
    if runtime is None:
        raise RuntimeError("job message received outside a shuzhi worker")
    claim = store.claim(runtime.db, job_id, worker_name("redis"), runtime.cfg.lease_seconds)
    if claim is None:
        return  # finished, cancelled, not yet due, or running elsewhere: the message was spare
    with runtime.lock:
        runtime.inflight[job_id] = claim
    try:
        run_at = execute(runtime.db, runtime.settings, claim, lease=runtime.cfg.lease_seconds)
    finally:
        with runtime.lock:
            runtime.inflight.pop(job_id, None)
    if run_at is not None:
        delay = max((run_at - utcnow()).total_seconds(), 0.0)
        runtime.queue.send(job_id, delay=delay)


class RedisWorker:
    """A dramatiq worker consuming the jobs queue, plus the maintenance thread."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        job_settings: JobSettings,
        *,
        threads: int | None = None,
    ) -> None:
        if not settings.redis_url:
            raise ValueError("RedisWorker needs settings.redis_url")
        self.db, self.settings, self.cfg = db, settings, job_settings
        self.queue = RedisQueue.shared(settings.redis_url)
        self.threads = threads or job_settings.threads
        self.name = worker_name("redis")
        self._worker: dramatiq.Worker | None = None
        self._maintenance = Maintenance(db, self.queue, job_settings, self.name)

    def start(self) -> None:
        global _runtime
        _runtime = _Runtime(self.db, self.settings, self.cfg, self.queue)
        worker = dramatiq.Worker(self.queue.broker, worker_threads=self.threads, worker_timeout=500)
        # Prefetch no more than we can run: a message held by a busy worker waits for nobody else.
        worker.queue_prefetch = self.threads
        worker.start()
        self._worker = worker
        self._maintenance.start()
        log.info("redis job worker %s started with %s threads", self.name, self.threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming, wait up to ``timeout`` for running jobs, hand back the rest."""
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout * 1000))
        runtime = _runtime
        unfinished = []
        if runtime is not None:
            with runtime.lock:
                unfinished = list(runtime.inflight.values())
        for claim in unfinished:
            if store.release(self.db, claim):
                self.queue.send(claim.job_id)
        self._maintenance.stop()
        log.info("redis job worker %s stopped; %s jobs handed back", self.name, len(unfinished))
