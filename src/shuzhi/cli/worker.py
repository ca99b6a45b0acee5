"""``shuzhi worker``: run jobs from Redis (``SHUZHI_REDIS_URL``) or else from the database."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from shuzhi.cli.common import console, database, settings, setup_logging
from shuzhi.jobs.embedded import EmbeddedWorker
from shuzhi.jobs.redis_queue import RedisWorker, check_redis
from shuzhi.jobs.registry import all_kinds
from shuzhi.jobs.settings import load_job_settings
from shuzhi.storage.db import redact_url


def worker(
    threads: Annotated[
        int | None, typer.Option(help="同时运行的任务数，默认 SHUZHI_JOBS_THREADS 或 4")
    ] = None,
) -> None:
    """启动任务执行进程；可在共用同一数据库的任意机器上按需启动多个"""
    cfg = settings()
    setup_logging(cfg.log_level)
    job_cfg = load_job_settings()
    db = database(cfg)
    kinds = [k.name for k in all_kinds()]
    runner: EmbeddedWorker | RedisWorker
    if cfg.redis_url:
        check_redis(cfg.redis_url)
        runner = RedisWorker(db, cfg, job_cfg, threads=threads)
        source = f"Redis 队列（命名空间 {job_cfg.namespace}）"
    else:
        runner = EmbeddedWorker(db, cfg, job_cfg, threads=threads)
        source = "数据库队列"
    console.print(f"任务工作进程：{source}，数据库 {redact_url(db.url)}，{runner.threads} 个线程")
    console.print(f"可运行的任务类型：{'、'.join(kinds) or '（无）'}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    stop.wait()
    console.print("正在停止：等待运行中的任务，未完成的交还队列…")
    runner.stop()
