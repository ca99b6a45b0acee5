"""The hotline batch as a persisted job (``hotline.batch``), for the API, console and workers.

Work-order codes derive from the input file and row, and storing skips known codes, so a job
resumed after a crash or run twice stores every order exactly once.

:func:`submit_batch` is the one way a surface starts the job from uploaded files: the API and the
console both call it, so the checks on the files, the department and the audit record are the
same wherever a person starts a batch.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, NotFound
from shuzhi.jobs import JobContext, job_kind
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.hotline.batch import BatchResult
from shuzhi.scenarios.hotline.classifier import Manifest
from shuzhi.scenarios.hotline.decisions import hotline_department
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
from shuzhi.scenarios.hotline.importing import HeaderMap, headers_for, read_rows, rows_to_messages
from shuzhi.scenarios.hotline.service import model_store, run_batch
from shuzhi.scenarios.hotline.taxonomy import load_taxonomy, looks_like_taxonomy
from shuzhi.storage.models import Job

KIND = "hotline.batch"
MB = 1024 * 1024
MAX_UPLOAD = 200 * MB
# What the importer reads (.xlsm and .tsv/.txt are the same formats under other names).
SUFFIXES = (".xlsx", ".xlsm", ".csv", ".tsv", ".txt")
# The importer looks for the header in the first 20 rows; a few more show whether data follows.
HEAD_ROWS = 25
TOP_N = 12
_SAFE = re.compile(r"[^\w.\-]+")


def _path(params: dict[str, Any], key: str) -> Path | None:
    value = params.get(key)
    return Path(value) if value else None


# Its params are server paths and the acting department: only submit_batch() sets them.
@job_kind(
    KIND,
    title="热线工单批量处理",
    title_en="Hotline batch",
    via="POST /api/hotline/batches 或控制台“批量派单”页面",
)
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
    return {**result.summary(), **_distribution(result)}


def _distribution(result: BatchResult) -> dict[str, Any]:
    """How the batch was decided and where it went (as stored, on a re-run), for the console's
    summary chart."""
    modes = {o.mode for o in result.orders}
    categories = Counter(o.category for o in result.orders)
    units = Counter(o.handling_unit or "（待定）" for o in result.orders)
    return {
        "mode": "model" if "model" in modes else "offline",
        "categories": categories.most_common(TOP_N),
        "units": units.most_common(TOP_N),
    }


def _department(params: dict[str, Any]) -> int | None:
    value = params.get("department_id")
    return int(value) if value is not None else None


# submitting from uploaded files ----------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file a person sent: the name they gave it and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class _Role:
    label: str  # what the file is to the person who sent it, for messages
    check: Callable[[Path, str, HeaderMap], None]


def trained_model(settings: Settings) -> Manifest | None:
    """The newest stored dispatch model, used when a batch comes without labelled history."""
    store = model_store(settings)
    versions = store.versions()
    return store.manifest(versions[-1]) if versions else None


def submit_batch(
    session: Session,
    settings: Settings,
    principal: Principal,
    messages: Upload,
    *,
    history: Upload | None = None,
    taxonomy: Upload | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    max_bytes: int = MAX_UPLOAD,
    history_required: bool = False,
) -> Job:
    """Check and keep the uploaded files, then queue the batch job in the caller's department.

    Without ``history`` the newest trained model dispatches, unless ``history_required`` (the
    person chose to train on a history and sent none). Every file is checked before the job is
    queued, so a wrong file (the taxonomy sent as the messages, an empty or oversized file, a
    history without categories) is refused at once with a message saying what to send instead,
    and nothing waits in the queue only to fail."""
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"置信度阈值应在 0 到 1 之间，收到 {threshold}")
    folder = settings.data_dir / "hotline" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    # Checked in a scratch folder beside the uploads and moved in place only when all pass: a
    # refused batch leaves nothing behind, and a kept file is only replaced by the same bytes.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".incoming-") as scratch:
        trial = _Trial(Path(scratch), max_bytes, headers_for(settings))
        params: dict[str, Any] = {"input": trial.check(messages, _MESSAGES)}
        _check_model(settings, history, history_required)
        for key, upload, role in (
            ("history", history, _HISTORY),
            ("taxonomy", taxonomy, _TAXONOMY),
        ):
            if upload is not None:
                params[key] = trial.check(upload, role)
        params = {key: str(_keep(Path(path), folder)) for key, path in params.items()}
    params |= {"filename": messages.filename, "threshold": threshold, "actor": principal.name}
    # The names people gave the files, so a job's error names them rather than the kept copies.
    given = {"input": messages, "history": history, "taxonomy": taxonomy}
    params["filenames"] = {key: u.filename for key, u in given.items() if u and u.filename}
    return _queue(session, principal, params)


def _check_model(settings: Settings, history: Upload | None, history_required: bool) -> None:
    if history is not None:
        return
    if history_required:
        raise InvalidInput("请上传带分类的历史工单，或选择“使用已训练的模型”")
    if trained_model(settings) is None:
        raise InvalidInput(
            "还没有训练好的派单模型，请同时上传带分类的历史工单",
            hint="或先在命令行运行 shuzhi hotline train 历史工单.csv",
        )


def _keep(trial: Path, folder: Path) -> Path:
    """Move a checked file in place, named by its content: the same file twice is one file,
    so it yields the same work-order codes."""
    digest = hashlib.sha256(trial.read_bytes()).hexdigest()[:10]
    target = folder / f"{digest}-{trial.name}"
    os.replace(trial, target)
    return target


def _queue(session: Session, principal: Principal, params: dict[str, Any]) -> Job:
    department_id = batch_department(session, principal)
    params["department_id"] = department_id
    job = jobs.submit(session, KIND, params, created_by=principal.name, department_id=department_id)
    audit(session, "hotline.batch.submit", actor=principal.name, target=f"job:{job.id}",
          department_id=department_id)  # fmt: skip
    return job


def batch_department(session: Session, principal: Principal) -> int:
    """The department a batch belongs to: the hotline office for a caller who works for it (or
    for every department), else the caller's own department."""
    allowed = principal.visible_departments("workorder.write")
    hotline = hotline_department(session).id
    if allowed is None or hotline in allowed or not allowed:
        return hotline
    return min(allowed)


@dataclass(frozen=True)
class _Trial:
    """Uploads written under their own names (one folder each) and checked for their role."""

    scratch: Path
    max_bytes: int
    headers: HeaderMap

    def check(self, upload: Upload, role: _Role) -> str:
        name = _SAFE.sub("_", Path(upload.filename or "upload.csv").name)
        _check_bytes(upload, name, role, self.max_bytes)
        path = Path(tempfile.mkdtemp(dir=self.scratch)) / name
        path.write_bytes(upload.data)
        role.check(path, upload.filename, self.headers)
        return str(path)


def _check_bytes(upload: Upload, name: str, role: _Role, max_bytes: int) -> None:
    if Path(name).suffix.lower() not in SUFFIXES:
        raise InvalidInput(
            f"{role.label}“{upload.filename}”不是 Excel（.xlsx）或 CSV（.csv）文件",
            hint="旧版 .xls 请用 Excel 另存为 .xlsx；Word、PDF 等文件请先整理成表格",
        )
    if not upload.data:
        raise InvalidInput(f"{role.label}“{upload.filename}”是空文件", hint="检查文件后重新上传")
    if len(upload.data) > max_bytes:
        raise InvalidInput(
            f"{role.label}“{upload.filename}”有 {len(upload.data) / MB:.1f} MB，"
            f"超过了 {max_bytes // MB} MB 的上限",
            hint="请拆分成几个文件分批上传，或在命令行用 shuzhi hotline run 处理",
        )


def _head(path: Path) -> list[tuple[int, Any]]:
    return list(islice(read_rows(path), HEAD_ROWS))


def _check_messages(path: Path, filename: str, headers: HeaderMap) -> None:
    head = _head(path)
    if any(looks_like_taxonomy(row) for _, row in head[:3]):
        raise InvalidInput(
            f"“{filename}”是分类体系表（一级分类、二级分类、三级分类），不是市民留言",
            hint="分类体系表请放在“分类体系表”一栏（接口字段 taxonomy）；"
            "留言文件需要“留言详情”或“留言主题”列",
        )
    imported = rows_to_messages(head, headers, source=filename)
    if imported.messages or len(head) >= HEAD_ROWS:
        return
    unusable = [p for p in imported.problems if not p.kept]
    if unusable:  # e.g. a quote left open on the first row swallowed all the rows after it
        first = unusable[0]
        raise InvalidInput(
            f"“{filename}”没有可处理的留言。第 {first.row} 行：{first.reason}",
            hint="修改该行后重新上传",
        )
    raise InvalidInput(f"“{filename}”只有表头，没有可处理的留言", hint="检查文件内容")


def _check_history(path: Path, filename: str, headers: HeaderMap) -> None:
    imported = rows_to_messages(_head(path), headers, source=filename)
    if "label" not in imported.columns:
        raise InvalidInput(
            f"历史工单“{filename}”没有分类列，无法训练派单模型",
            hint="历史工单需要“一级分类”列；不上传历史工单时使用已训练的模型",
        )


def _check_taxonomy(path: Path, filename: str, _headers: HeaderMap) -> None:
    load_taxonomy(path)


_MESSAGES = _Role("留言文件", _check_messages)
_HISTORY = _Role("历史工单", _check_history)
_TAXONOMY = _Role("分类体系表", _check_taxonomy)


# reading a batch back --------------------------------------------------------------------------


OUTPUTS = ("workbook", "jsonl", "report")


def batch_job(session: Session, job_id: int, principal: Principal) -> Job:
    """A hotline batch job the principal may read; any other job reads as missing."""
    job = session.get(Job, job_id)
    visible = principal.visible_departments("workorder.read")
    if job is not None and (
        job.kind != KIND or (visible is not None and job.department_id not in visible)
    ):
        job = None  # other departments' jobs are not even confirmed to exist
    if job is None:
        raise NotFound(
            f"没有热线批处理任务 {job_id}", hint="在“工单 → 批量派单”页面查看本部门的任务"
        )
    return job


def batch_output(job: Job, name: str) -> Path:
    """The path of one of the job's files (``workbook``, ``jsonl`` or ``report``), taken from what
    the job itself recorded, never from the caller."""
    outputs = (job.result or {}).get("outputs", {})
    found = outputs.get(name) if name in OUTPUTS else None
    if not found or not Path(found).is_file():
        raise NotFound(f"热线批处理任务 {job.id} 没有文件 {name}", hint="任务完成后再下载")
    return Path(found)
