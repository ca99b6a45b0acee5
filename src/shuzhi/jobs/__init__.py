"""Jobs: long work that survives crashes and restarts, in-process or on workers over Redis.

Register a kind beside the code it drives, in a module named ``jobs`` of your package (workers
import every ``shuzhi.*.jobs`` module on start)::

    # src/shuzhi/hotline/jobs.py
    from shuzhi.jobs import JobContext, job_kind

    @job_kind("hotline.batch", title="热线工单批量处理")
    def hotline_batch(ctx: JobContext, params: dict) -> dict:
        rows = load_rows(params["file"])
        ctx.set_total(len(rows))
        for row in rows:
            # fn(session) runs once per key: its writes commit with the item, so a job resumed
            # after a crash skips finished rows and never stores one twice.
            ctx.run_item(row.key, lambda session, row=row: store_work_order(session, row))
        return {"rows": len(rows)}

Submit and follow it::

    from shuzhi import jobs
    job = jobs.submit(db, "hotline.batch", {"file": "..."}, created_by=user, department_id=3)
    jobs.get(db, job.id).status      # queued | running | succeeded | failed | cancelled
    jobs.cancel(db, job.id); jobs.retry(db, job.id)
    jobs.run_inline(db, "hotline.batch", {...}, on_progress=lambda done, total: ...)  # CLI

Declare a periodic job (copied into ``job_schedules`` by the leader; operators can change it)::

    jobs.periodic("audit-retention", "audit.retention", every=timedelta(days=1))

``JobContext`` offers ``db``, ``settings``, ``job_id``, ``attempt``, ``set_total(n)``,
``progress(done, total)``, ``run_item(key, fn)``, ``pending(keys)``, ``done_keys()``,
``item_result(key)``, ``cancelled()`` and ``check()`` (raises when cancelled). A job function
returns a JSON-serialisable dict (the job's result) or ``None``. Raise a ``shuzhi.errors``
``UserError`` for bad input: the job fails at once with your message. Any other exception is
retried with exponential backoff up to ``max_attempts``; the job shows a general Chinese message
(「任务执行出错（内部错误，已记入日志）」) and the traceback goes to the log, never to the reader.

Declare what a kind takes with ``@job_kind(..., params=SomeModel)`` (a pydantic model): a
submission that does not fit is refused before any job exists, with a Chinese message per field.
"""

from shuzhi.jobs.api import (
    cancel,
    get,
    items,
    list_jobs,
    notify_after_commit,
    resume_inline,
    retry,
    run_inline,
    submit,
)
from shuzhi.jobs.context import JobCancelled, JobContext, LeaseLost
from shuzhi.jobs.queue import JobQueue, configure, current_queue
from shuzhi.jobs.registry import JobKind, all_kinds, discover, get_kind, job_kind
from shuzhi.jobs.scheduler import periodic
from shuzhi.jobs.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    STATUS_ZH,
    SUCCEEDED,
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATUS_ZH",
    "SUCCEEDED",
    "JobCancelled",
    "JobContext",
    "JobKind",
    "JobQueue",
    "LeaseLost",
    "all_kinds",
    "cancel",
    "configure",
    "current_queue",
    "discover",
    "get",
    "get_kind",
    "items",
    "job_kind",
    "list_jobs",
    "notify_after_commit",
    "periodic",
    "resume_inline",
    "retry",
    "run_inline",
    "submit",
]
