"""What the surfaces call: train, load, run the batch, and store its work orders."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.platform.audit import audit
from shuzhi.scenarios.hotline.batch import BatchJob, BatchResult, Progress, file_key
from shuzhi.scenarios.hotline.classifier import (
    CrossValidation,
    DispatchClassifier,
    Manifest,
    ModelStore,
    cross_validate,
    train,
    training_text,
)
from shuzhi.scenarios.hotline.decisions import (
    DISPATCH_REVIEW,
    hotline_department,
    owning_department,
    review_due,
    unit_departments,
)
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD, Dispatcher, SimilarCases
from shuzhi.scenarios.hotline.importing import HeaderMap, headers_for, import_file
from shuzhi.scenarios.hotline.records import Order, Stored
from shuzhi.scenarios.hotline.taxonomy import load_taxonomy
from shuzhi.storage.db import Database
from shuzhi.storage.models import ReviewTask, WorkOrder

log = logging.getLogger(__name__)

REVIEW_KIND = DISPATCH_REVIEW
INSERT_CHUNK = 2000


def model_store(settings: Settings) -> ModelStore:
    return ModelStore(settings.data_dir / "hotline" / "models")


def load_history(path: Path, headers: HeaderMap | None = None) -> tuple[list[str], list[str]]:
    """Texts and categories of labelled past orders (rows without a category are skipped);
    ``headers``: the column names to read (:func:`headers_for`; None: the shipped ones)."""
    imported = import_file(path, headers)
    pairs = [(training_text(m.title, m.text), m.label) for m in imported.messages if m.label]
    if not pairs:
        raise InvalidInput(
            f"{Path(path).name} 中没有带分类的工单，无法训练派单模型",
            hint="历史工单需要“一级分类”列（或在数据目录的 hotline_headers.yaml 里写上"
            "“label: [本表的分类列名]”）",
        )
    return [t for t, _ in pairs], [str(label) for _, label in pairs]


def train_and_save(
    path: Path,
    store: ModelStore,
    *,
    folds: int = 0,
    progress: Callable[[int, int], None] | None = None,
    headers: HeaderMap | None = None,
) -> tuple[Manifest, CrossValidation | None]:
    """Train on a labelled file, optionally cross-validate, and save a new model version."""
    texts, labels = load_history(path, headers)
    scores = cross_validate(texts, labels, folds=folds, progress=progress) if folds > 1 else None
    classifier = train(texts, labels, source=f"{Path(path).name}#{file_key(path)}")
    if scores is not None:
        classifier.manifest.cv = _cv_summary(scores)
    return store.save(classifier), scores


def _cv_summary(scores: CrossValidation) -> dict[str, Any]:
    summary = asdict(scores)
    summary.pop("confusion")
    return summary


def classifier_for(
    store: ModelStore, history: Path | None, headers: HeaderMap | None = None
) -> DispatchClassifier:
    """The classifier for a run: trained on ``history`` (reused when that file was seen before),
    or the newest stored version."""
    if history is None:
        return store.load()
    source = f"{Path(history).name}#{file_key(history)}"
    for version in reversed(store.versions()):
        if store.manifest(version).source == source:
            return store.load(version)
    manifest, _ = train_and_save(history, store, headers=headers)
    return store.load(manifest.version)


def run_batch(
    settings: Settings,
    input_path: Path,
    *,
    history: Path | None = None,
    out_dir: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    db: Database | None = None,
    job_id: int | None = None,
    actor: str = "system",
    progress: Progress | None = None,
    use_model: bool = True,
    taxonomy: Path | None = None,
    department_id: int | None = None,
) -> BatchResult:
    """The whole batch; with ``db`` the orders and review tasks are stored (idempotently).

    ``taxonomy`` places orders on the lower levels of the department's category tree;
    ``department_id`` is the department that runs the batch (the hotline office by default),
    which owns the orders not yet dispatched to a unit's department."""
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"置信度阈值应在 0 到 1 之间，收到 {threshold}")
    for given in (input_path, history, taxonomy):
        if given is not None and not Path(given).is_file():
            raise InvalidInput(f"找不到文件：{given}", hint="检查文件路径")
    if out_dir is not None:
        check_out_dir(Path(out_dir))
    # The input is read first, so a wrong file fails before any model is trained.
    headers = headers_for(settings)  # a bad local file stops here, before any work
    imported = import_file(input_path, headers)
    name = Path(imported.source).name
    if not imported.messages and not imported.problems:
        raise InvalidInput(
            f"“{name}”只有表头，没有可处理的留言",
            hint="表头以下的行都是空的：检查导出时是否带上了数据、是否选对了文件",
        )
    unusable = [p for p in imported.problems if not p.kept]
    if not imported.messages and unusable:  # as the API and console refuse such an upload
        shown = "；".join(f"第 {p.row} 行：{p.reason}" for p in unusable[:3])
        more = f"（另有 {len(unusable) - 3} 行）" if len(unusable) > 3 else ""
        raise InvalidInput(f"“{name}”没有可处理的留言。{shown}{more}", hint="修改这些行后重新运行")
    classifier = classifier_for(model_store(settings), history, headers)
    job = BatchJob(classifier, threshold=threshold)
    if taxonomy is not None:
        job.taxonomy = load_taxonomy(taxonomy)
    if db is not None and use_model:
        job.dispatcher = _model_dispatcher(job, settings, db, history, headers)
    store = None
    if db is not None:

        def store(result: BatchResult) -> dict[str, int]:
            return store_orders(db, result, job_id=job_id, actor=actor, department_id=department_id)

    kwargs = {"progress": progress} if progress else {}
    return job.run(Path(input_path), out_dir, store=store, imported=imported, **kwargs)


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder the batch's files cannot go to before any order is stored: found only
    when the files are written, the orders would be stored with no files to show for them."""
    existing = out_dir.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir():
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InvalidInput(
                f"输出目录 {out_dir} 无法写入：没有 {existing} 的写入权限",
                hint="请另选一个有写入权限的文件夹作为输出目录",
            )
        return
    problem = (
        "是一个已有的文件"
        if existing == out_dir.absolute()
        else f"无法创建：其中的 {existing} 是文件"
    )
    raise InvalidInput(
        f"输出目录 {out_dir} {problem}，不是文件夹",
        hint="请另选一个文件夹作为输出目录（不存在时会自动创建），或先移走这个文件",
    )


def _model_dispatcher(
    job: BatchJob,
    settings: Settings,
    db: Database,
    history: Path | None,
    headers: HeaderMap | None = None,
) -> Dispatcher | None:
    """A dispatcher that also asks the model base, when a chat endpoint is configured."""
    from shuzhi.gateway import Gateway
    from shuzhi.scenarios.hotline.model_step import GatewayModelStep

    gateway = Gateway(db, settings)
    if not gateway.available():
        return job.dispatcher
    similar = SimilarCases(job.classifier, *load_history(history, headers)) if history else None
    return Dispatcher(job.classifier, job.rules, job.threshold, GatewayModelStep(gateway), similar)


_STORED_COLUMNS = (
    WorkOrder.code,
    WorkOrder.category,
    WorkOrder.category_path,
    WorkOrder.handling_unit,
    WorkOrder.confidence,
    WorkOrder.status,
    WorkOrder.decided_by,
    WorkOrder.mode,
    WorkOrder.model,
    WorkOrder.details,
    WorkOrder.reply_status,
    WorkOrder.deadline,
    WorkOrder.sources,
)


def stored_states(session: Session, codes: Sequence[str]) -> dict[str, Stored]:
    """How the orders of ``codes`` that are already stored stand now, by code (500 a query)."""
    found: dict[str, Stored] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for row in session.execute(select(*_STORED_COLUMNS).where(WorkOrder.code.in_(chunk))):
            details = row.details or {}
            found[row.code] = Stored(
                category=row.category or "",
                category_path=list(row.category_path or []),
                handling_unit=row.handling_unit or "",
                confidence=float(row.confidence or 0.0),
                candidates=[(str(c), float(p)) for c, p in details.get("candidates") or []],
                status=row.status,
                decided_by=row.decided_by,
                mode=row.mode,
                model=row.model or "",
                decision=details.get("dispatch_decision"),
                reply_status=row.reply_status,
                deadline=row.deadline,
                deadline_basis=_rule_citation(row.sources),
            )
    return found


def _rule_citation(sources: list[dict[str, Any]] | None) -> str:
    """The deadline's basis an order was stored with (its rule source), or ""."""
    rules = [s for s in sources or [] if isinstance(s, dict) and s.get("kind") == "rule"]
    return str(rules[0].get("citation") or "") if rules else ""


def store_orders(
    db: Database,
    result: BatchResult,
    *,
    job_id: int | None = None,
    actor: str = "system",
    department_id: int | None = None,
) -> dict[str, int]:
    """Insert new work orders and a review task for each low-confidence one; skip known codes.

    A dispatched order goes to its handling unit's department; the others, and every review
    task, to ``department_id`` (default: the hotline office). Each known order gets its state
    in the database (``Order.stored``), so the files written afterwards show what a reviewer
    decided since the first run rather than this run's proposal."""
    with db.session() as session:
        stored = stored_states(session, [o.code for o in result.orders])
        for order in result.orders:
            order.stored = stored.get(order.code)
        new = [o for o in result.orders if o.stored is None]
        hotline = department_id or hotline_department(session).id
        units = unit_departments(session)
        owners = [
            owning_department(o.proposed_status, o.dispatch.handling_unit, units, hotline)
            for o in new
        ]
        rows = [_row(o, job_id, owner) for o, owner in zip(new, owners, strict=True)]
        for start in range(0, len(rows), INSERT_CHUNK):  # bounded memory for large files
            session.bulk_insert_mappings(WorkOrder, rows[start : start + INSERT_CHUNK])
            session.flush()
        reviews = [_review(o, hotline) for o in new if o.dispatch.needs_review]
        session.bulk_insert_mappings(ReviewTask, reviews)
        audit(
            session,
            "hotline.batch",
            actor=actor,
            target=Path(result.source).name,
            actor_kind="user" if actor != "system" else "system",
            inserted=len(new),
            skipped=len(stored),
            review_tasks=len(reviews),
            model=result.model,
        )
    return {"inserted": len(new), "skipped": len(stored), "review_tasks": len(reviews)}


def _row(order: Order, job_id: int | None, department_id: int) -> dict[str, Any]:
    d, m = order.dispatch, order.message
    return {
        "code": order.code,
        "department_id": department_id,
        "source_ref": (m.ref or "")[:64] or None,
        "title": order.masked_title[:500],
        "text": order.masked_text,
        "requester_masked": (order.requester_display or "")[:128] or None,
        "received_at": m.received_at,
        "location": order.location,
        "category": d.category,
        "category_path": order.category_path,
        "handling_unit": d.handling_unit,
        "order_type": order.order_type,
        "urgency": order.urgency,
        "deadline": order.deadline.due,
        "confidence": d.confidence,
        "status": order.proposed_status,
        "decided_by": "ai",
        "model": d.model[:128],
        "mode": d.mode,
        "sources": [{"kind": "rule", "citation": order.deadline.basis}],
        "details": {
            "candidates": d.candidates,
            "demands": order.demands,
            "deadline_warnings": order.deadline.warnings,
            "source_row": m.row,
        },
        "job_id": job_id,
        "created_at": _now(),
    }


def _review(order: Order, department_id: int) -> dict[str, Any]:
    d = order.dispatch
    due = order.deadline.due
    reason = (
        d.reason
        if d.reason.startswith("职责清单")
        else (f"置信度 {d.confidence:.2f} 低于阈值，需人工确认分类和承办单位")
    )
    return {
        "kind": REVIEW_KIND,
        "department_id": department_id,
        "subject_type": "work_order",
        "subject_id": order.code,
        "title": f"派单复核：{order.masked_title or order.masked_text[:40]}"[:500],
        "proposal": {
            "category": d.category,
            "handling_unit": d.handling_unit,
            "confidence": round(d.confidence, 4),
            "candidates": d.candidates,
            "model": d.model,
            "mode": d.mode,
            "reason": reason,
        },
        "proposed_by": "ai",
        "status": "pending",
        "due_at": review_due(due, _now()),
        "created_at": _now(),
    }


def _now() -> datetime:
    from shuzhi.storage.db import utcnow

    return utcnow()
