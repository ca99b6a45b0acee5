"""The hotline batch as a persisted job (``hotline.batch``), for the API, console and workers.

Work-order codes derive from the input file and row, and storing skips known codes, so a job
resumed after a crash or run twice stores every order exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shuzhi.errors import InvalidInput
from shuzhi.jobs import JobContext, job_kind
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
from shuzhi.scenarios.hotline.service import run_batch

KIND = "hotline.batch"


def _path(params: dict[str, Any], key: str) -> Path | None:
    value = params.get(key)
    return Path(value) if value else None


@job_kind(KIND, title="热线工单批量处理")
def hotline_batch(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    source = _path(params, "input")
    if source is None:
        raise InvalidInput("缺少参数 input：要处理的留言文件路径")
    out_dir = _path(params, "out_dir") or ctx.settings.data_dir / "hotline" / f"job-{ctx.job_id}"

    def progress(done: int, total: int, stage: str) -> None:
        ctx.check()
        if total:
            ctx.progress(done, total)

    result = run_batch(
        ctx.settings,
        source,
        history=_path(params, "history"),
        out_dir=out_dir,
        threshold=float(params.get("threshold", DEFAULT_THRESHOLD)),
        db=ctx.db,
        job_id=ctx.job_id,
        actor=str(params.get("actor", "system")),
        progress=progress,
        taxonomy=_path(params, "taxonomy"),
        department_id=_department(params),
    )
    return result.summary()


def _department(params: dict[str, Any]) -> int | None:
    value = params.get("department_id")
    return int(value) if value is not None else None
