"""Benchmark: jobs per second through each queue, and the cost the job system adds per job/item.

Run from the repository root::

    .venv/bin/python bench/jobs_throughput.py                       # SQLite, database queue
    .venv/bin/python bench/jobs_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/jobs_throughput.py --database-url postgresql+psycopg://... \\
        --redis-url redis://127.0.0.1:6379/0                        # dramatiq over Redis

Each run submits ``--jobs`` empty jobs (``test.noop``), starts a worker with ``--threads`` threads,
and times until all of them have succeeded; jobs/s and milliseconds per job (wall time divided by
jobs) are the medians of ``--runs`` runs, with the CPU time the process spent per job (the
submitter and the in-process worker; PostgreSQL and Redis servers not included), which depends
less on how busy the machine is. A second measure runs one job of ``--items`` idempotent
items that do nothing, giving the cost of ``ctx.run_item`` (one transaction per item). The
database must be empty or disposable: the bench migrates it and deletes the jobs it creates.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import delete

import shuzhi.jobs.testing  # noqa: F401  (registers test.noop and test.sleepy_batch)
from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.jobs import store
from shuzhi.jobs.embedded import EmbeddedWorker
from shuzhi.jobs.queue import DatabaseQueue, JobQueue
from shuzhi.jobs.redis_queue import RedisQueue, RedisWorker
from shuzhi.jobs.settings import JobSettings
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import upgrade
from shuzhi.storage.models import Job


def _wait_all(db: Database, ids: list[int], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        with db.session() as session:
            done = {
                j.id
                for j in session.query(Job).filter(Job.id.in_(pending))
                if j.status in store.FINISHED
            }
        pending -= done
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} jobs unfinished after {timeout}s")
        if pending:
            time.sleep(0.01)


def _worker(db: Database, settings: Settings, cfg: JobSettings, threads: int):  # type: ignore[no-untyped-def]
    if settings.redis_url:
        return RedisWorker(db, settings, cfg, threads=threads)
    return EmbeddedWorker(db, settings, cfg, threads=threads, maintenance=False)


def run_once(
    db: Database, settings: Settings, queue: JobQueue, args: argparse.Namespace
) -> tuple[float, float]:
    """Wall seconds from the first submit until the last of ``args.jobs`` no-op jobs succeeded,
    and the CPU seconds this process (submitter and worker threads) spent meanwhile."""
    cfg = JobSettings(namespace=args.namespace, poll_seconds=0.01)
    worker = _worker(db, settings, cfg, args.threads)
    worker.start()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        ids = [jobs.submit(db, "test.noop", {}, queue=queue).id for _ in range(args.jobs)]
        _wait_all(db, ids)
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        worker.stop()
        with db.session() as session:
            session.execute(delete(Job))


def items_once(db: Database, settings: Settings, items: int, batch: int = 0) -> float:
    """Seconds per item of one inline job of ``items`` empty items (``batch`` per commit)."""
    start = time.perf_counter()
    params = {"items": items, "batch": batch}
    job = jobs.run_inline(db, "test.sleepy_batch", params, settings=settings)
    elapsed = time.perf_counter() - start
    assert job.status == "succeeded", job.error
    with db.session() as session:
        session.execute(delete(Job))
    return elapsed / items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.namespace = f"shuzhi-bench-{uuid.uuid4().hex[:8]}"

    tmp = Path(tempfile.mkdtemp(prefix="shuzhi-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings(data_dir=tmp, database_url=url, redis_url=args.redis_url)
    db = Database(url)
    upgrade(db)
    queue: JobQueue = (
        RedisQueue(args.redis_url, JobSettings(namespace=args.namespace))
        if args.redis_url
        else DatabaseQueue()
    )
    if args.redis_url:
        import os

        os.environ["SHUZHI_JOBS_NAMESPACE"] = args.namespace  # the worker's broker reads it

    timings = [run_once(db, settings, queue, args) for _ in range(args.runs)]
    seconds = [wall for wall, _ in timings]
    cpu = statistics.median(c for _, c in timings)
    per_item = [items_once(db, settings, args.items) for _ in range(args.runs)]
    batched = [items_once(db, settings, args.items, 100) for _ in range(args.runs)]
    median = statistics.median(seconds)
    backend = f"{db.dialect} + {'redis (dramatiq)' if args.redis_url else 'database queue'}"
    print(f"backend: {backend}; {args.jobs} no-op jobs, {args.threads} threads, {args.runs} runs")
    print(
        f"  throughput: {args.jobs / median:.1f} jobs/s (median; runs: "
        + ", ".join(f"{args.jobs / s:.1f}" for s in seconds)
        + ")"
    )
    print(f"  overhead:   {1000 * median / args.jobs:.2f} ms per job, submit to succeeded")
    print(f"  cpu:        {1000 * cpu / args.jobs:.2f} ms CPU per job in this process (median)")
    print(
        f"  items:      {1000 * statistics.median(per_item):.2f} ms per run_item "
        f"({args.items} empty items, one transaction each)"
    )
    print(
        f"  batched:    {1000 * statistics.median(batched):.3f} ms per item with run_batch "
        "(100 items per transaction)"
    )
    db.dispose()
    if args.redis_url:
        _drop_namespace(args.redis_url, args.namespace)


def _drop_namespace(url: str, namespace: str) -> None:
    """Remove the run's own Redis keys (queues, heartbeats), leaving others' alone."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


if __name__ == "__main__":
    main()
