"""The hotline batch (批量派单) in the console: upload citizen messages, follow the job, read the
summary and download its files.

The page calls the same entry point as ``POST /api/hotline/batches``
(:func:`shuzhi.scenarios.hotline.jobs.submit_batch`), so the checks on the files, the department
and the audit record are the API's. The job is a persisted ``hotline.batch`` job: it survives a
restart of the server and the page picks it up again by its number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from shuzhi.api.deps import DbSession, get_settings
from shuzhi.config import Settings
from shuzhi.console.web import page, render
from shuzhi.errors import InvalidInput, UserError
from shuzhi.jobs import STATUS_ZH, store
from shuzhi.jobs.public import public_text
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
from shuzhi.scenarios.hotline.jobs import (
    KIND,
    MB,
    Upload,
    batch_job,
    batch_output,
    submit_batch,
    trained_model,
)
from shuzhi.storage.models import Job

router = APIRouter(prefix="/console/workorders/batches", include_in_schema=False)
SettingsDep = Annotated[Settings, Depends(get_settings)]

# A browser upload is read into memory whole; larger files go through the CLI or the API (200 MB).
CONSOLE_MAX_MB = 50
FILES = {
    "workbook": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "report": ("text/html; charset=utf-8", "html"),
}
# The report is our own standalone HTML; served sandboxed, its scripts cannot reach the console.
REPORT_POLICY = "sandbox allow-scripts"
# The event that makes the page reload its list of recent batches.
BATCHES_CHANGED = "hotline-batches-changed"


@router.get("")
def batches_page(
    request: Request,
    principal: Annotated[Principal, page("workorder.read")],
    session: DbSession,
    settings: SettingsDep,
) -> Response:
    context = _page_context(session, settings, principal)
    if request.headers.get("hx-request"):  # the list of recent batches, refreshed by the page
        return render(request, "_hotline_batch_recent.html", context)
    return render(request, "hotline_batch.html", context)


def _page_context(session: Any, settings: Settings, principal: Principal) -> dict[str, Any]:
    visible = principal.visible_departments("workorder.read")
    recent = store.list_jobs(session, kind=KIND, departments=visible, limit=20)
    return {
        "can_start": principal.can("workorder.write"),
        "model": trained_model(settings),
        "threshold": DEFAULT_THRESHOLD,
        "max_mb": CONSOLE_MAX_MB,
        "recent": recent,
        "status_zh": STATUS_ZH,
        "job": None,
    }


@router.post("")
async def start_batch(
    request: Request,
    principal: Annotated[Principal, page("workorder.write")],
    session: DbSession,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
    history: Annotated[UploadFile | None, File()] = None,
    taxonomy: Annotated[UploadFile | None, File()] = None,
    model: Annotated[str, Form()] = "history",
    threshold: Annotated[str, Form()] = "",
) -> Response:
    """Check the files and queue the job; answer with its progress, which then polls itself.

    ``model`` is ``trained`` to dispatch with the newest trained model (any history file is then
    ignored) or ``history`` to train on (or reuse the model of) the uploaded labelled history."""
    try:
        messages = await _upload(file)
        if messages is None:
            raise InvalidInput("请选择要处理的市民留言文件（.xlsx 或 .csv）")
        job = await run_in_threadpool(
            submit_batch,
            session,
            settings,
            principal,
            messages,
            history=None if model == "trained" else await _upload(history),
            taxonomy=await _upload(taxonomy),
            threshold=_threshold(threshold),
            max_bytes=CONSOLE_MAX_MB * MB,
            history_required=model != "trained",
        )
    except UserError as exc:
        # The message belongs where the job would show, not in the page's banner (console.js).
        response = render(request, "_hotline_batch_job.html", {"error": exc}, exc.status_code)
        response.headers["HX-Retarget"] = "#batch-job"
        return response
    response = render(request, "_hotline_batch_job.html", _job_context(job, settings.data_dir))
    response.headers["HX-Push-Url"] = f"/console/workorders/batches/{job.id}"
    response.headers["HX-Trigger"] = BATCHES_CHANGED
    return response


def _threshold(text: str) -> float:
    if not text.strip():
        return DEFAULT_THRESHOLD
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"置信度阈值应是 0 到 1 之间的小数，收到“{text}”") from None


async def _upload(upload: UploadFile | None) -> Upload | None:
    if upload is None or not upload.filename:
        return None
    # One byte past the limit is enough to refuse the file with its size.
    return Upload(upload.filename, await upload.read(CONSOLE_MAX_MB * MB + 1))


@router.get("/{job_id}")
def batch_status(
    job_id: int,
    request: Request,
    principal: Annotated[Principal, page("workorder.read")],
    session: DbSession,
    settings: SettingsDep,
) -> Response:
    """The job's state: a fragment for the page's polling, the whole page otherwise."""
    job = batch_job(session, job_id, principal)
    if request.headers.get("hx-request"):
        response = render(request, "_hotline_batch_job.html", _job_context(job, settings.data_dir))
        if job.status in store.FINISHED:  # the last poll: the list shows the outcome too
            response.headers["HX-Trigger"] = BATCHES_CHANGED
        return response
    context = _page_context(session, settings, principal) | _job_context(job, settings.data_dir)
    return render(request, "hotline_batch.html", context)


def _job_context(job: Job, data_dir: Path) -> dict[str, Any]:
    result = job.result or {}
    mode = result.get("mode", "offline")
    return {
        "job": job,
        # What went wrong, without the server's own paths (as /api/jobs shows it).
        "job_error": public_text(job.error, data_dir) if job.error else "",
        "finished": job.status in store.FINISHED,
        "summary": result,
        "stored": result.get("stored") or {},
        "evaluation": result.get("evaluation"),
        "mode": mode if mode in ("model", "offline") else "model",
        "chart": json.dumps(
            {"categories": result.get("categories", []), "units": result.get("units", [])},
            ensure_ascii=False,
        ),
        "files": [name for name in FILES if name in result.get("outputs", {})],
        "status_zh": STATUS_ZH,
    }


@router.get("/{job_id}/files/{name}")
def batch_file(
    job_id: int,
    name: str,
    principal: Annotated[Principal, page("workorder.read")],
    session: DbSession,
) -> Response:
    """One of the job's files, found from the job's own record within the reader's departments."""
    job = batch_job(session, job_id, principal)
    path = batch_output(job, name)
    media_type, suffix = FILES[name]
    audit(session, "hotline.batch.export", actor=principal.name, target=f"job:{job.id}",
          department_id=job.department_id, file=name)  # fmt: skip
    if name == "report":
        return FileResponse(path, media_type=media_type,
                            headers={"Content-Security-Policy": REPORT_POLICY})  # fmt: skip
    return FileResponse(path, media_type=media_type, filename=f"hotline-job-{job.id}.{suffix}")
