"""Job kinds for tests, demos and benchmarks. Import this module to register them.

Worker subprocesses in tests load it through ``SHUZHI_JOBS_IMPORTS=shuzhi.jobs.testing``. The
kinds do real, checkable work: every item is written to ``job_items`` with its own result, so a
test can count that each one finished exactly once.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.errors import InvalidInput
from shuzhi.jobs.context import JobContext
from shuzhi.jobs.registry import job_kind


@job_kind("test.sleepy_batch", title="测试：逐条处理（可设每条耗时）", backoff_seconds=0.2)
def sleepy_batch(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Process ``items`` items, sleeping ``sleep`` seconds in each; the result sums them.

    With ``batch`` > 0 the items run through ``ctx.run_batch`` that many per transaction.
    """
    count = int(params.get("items", 10))
    pause = float(params.get("sleep", 0.0))
    keys = [f"item-{i:05d}" for i in range(count)]
    ctx.set_total(count)
    total = 0

    def work(index: int) -> Any:
        def step(_session: Session) -> dict[str, Any]:
            if pause:
                time.sleep(pause)
            return {"index": index, "square": index * index, "worker": ctx.worker}

        return step

    batch = int(params.get("batch", 0))
    if batch > 0:
        ctx.run_batch(keys, lambda session, key: work(int(key[5:]))(session), size=batch)
        total = sum(int(key[5:]) ** 2 for key in keys)
    else:
        for index, key in enumerate(keys):
            total += ctx.run_item(key, work(index))["square"]
    return {"items": count, "sum_of_squares": total}


@job_kind("test.noop", title="测试：空任务", max_attempts=1)
def noop(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Do nothing: measures the queue's own cost per job."""
    return {"echo": params.get("echo")}


@job_kind("test.flaky", title="测试：前几次失败", max_attempts=3, backoff_seconds=0.1)
def flaky(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fail on attempts before ``succeed_on``; raise a caller error when ``bad`` is set."""
    if params.get("bad"):
        raise InvalidInput("参数 bad 为真：模拟错误的输入文件")
    if ctx.attempt < int(params.get("succeed_on", 2)):
        raise RuntimeError(f"simulated failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@job_kind("test.system_only", title="测试：仅系统可提交", permission=None)
def system_only(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    return {}
