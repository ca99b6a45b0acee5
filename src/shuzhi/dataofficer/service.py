"""The data officer's work on stored datasets: the functions the API, CLI and jobs call.

Flow: ``register_file`` / ``register_database`` → ``profile_dataset`` (detects sensitive fields,
proposes grades, rules and a catalogue entry, and queues the grades and the entry for a person)
→ ``confirm_grades`` / ``confirm_catalogue`` (a named reviewer decides, through the review queue)
→ ``run_quality`` (on demand or on schedule) → ``ask`` questions over the permitted datasets.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.dataofficer import ask as asking
from shuzhi.dataofficer.catalogue import CatalogueDrafter, draft_entry
from shuzhi.dataofficer.engine import connect
from shuzhi.dataofficer.profile import SAMPLE_ROWS, DatasetProfile, profile_parquet, shown_text
from shuzhi.dataofficer.quality import Rule, check_rule, propose_rules, run_rules
from shuzhi.dataofficer.sensitive import Grade, detect_column, propose_grade
from shuzhi.dataofficer.sources import (
    LoadedTable,
    check_source,
    load_database_table,
    load_file,
    parse_database_url,
)
from shuzhi.dataofficer.sqlrules import is_blank, quote
from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.platform import review
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.storage.db import redact_url, utcnow
from shuzhi.storage.models import (
    CatalogueEntry,
    Dataset,
    DatasetField,
    Department,
    QualityRuleRow,
    QualityRun,
    ReviewTask,
    SqlTemplateRow,
)

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
MANAGE = "data.manage"
CONNECT = "data.connect"
# Tables only the platform's own database holds; a source holding them all is refused.
PLATFORM_TABLES = ("api_keys", "login_sessions", "audit_log", "users")
GRADING_TASK = "data.grading"
CATALOGUE_TASK = "data.catalogue"


def datasets_dir(settings: Settings) -> Path:
    return settings.data_dir / "datasets"


# ---------------------------------------------------------------- registering


def register_file(
    session: Session,
    settings: Settings,
    path: Path,
    *,
    name: str | None = None,
    title: str = "",
    department_id: int | None = None,
    actor: str = "system",
    sheet: str | None = None,
    replace: bool = False,
    principal: Principal | None = None,
) -> Dataset:
    """Register a CSV or Excel file as a dataset (its data copied to Parquet).

    With ``principal`` (a person over the API) the owning department and any replacement are
    checked against that person's roles; without one the caller is the local operator.
    """
    name = dataset_name(name or path.stem)
    dataset = _claim(session, name, replace, principal, department_id)
    owner = _owner(principal, dataset, department_id, MANAGE)
    loaded = load_file(path, _parquet_path(settings, name), sheet=sheet)
    return _store(session, dataset, name, loaded, str(path), title, owner, actor)


def register_database(
    session: Session,
    settings: Settings,
    url: str,
    table: str,
    *,
    name: str | None = None,
    title: str = "",
    department_id: int | None = None,
    actor: str = "system",
    replace: bool = False,
    principal: Principal | None = None,
) -> Dataset:
    """Register a table of a SQLite or PostgreSQL database, read once, read-only.

    Only databases on the allow-list (``SHUZHI_DATA_SOURCES``, plus SQLite files under
    ``<data_dir>/imports/``) may be read, and never the platform's own database.
    """
    check_source(
        url,
        own_url=settings.effective_database_url,
        allowed=settings.data_sources,
        imports_dir=imports_dir(settings),
    )
    name = dataset_name(name or table)
    dataset = _claim(session, name, replace, principal, department_id)
    owner = _owner(principal, dataset, department_id, CONNECT)
    out = _parquet_path(settings, name)
    loaded = load_database_table(url, table, out, refuse_with=PLATFORM_TABLES)
    ref = f"{redact_url(url)}#{table}"
    return _store(session, dataset, name, loaded, ref, title, owner, actor)


def imports_dir(settings: Settings) -> Path:
    """Where an administrator puts SQLite files that may be registered without an allow-list."""
    return settings.data_dir / "imports"


def dataset_name(raw: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", raw.strip().lower()).strip("_")
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"数据集名称 {raw!r} 不可用：须以英文字母开头，只含小写字母、数字和下划线",
            hint="用 --name 指定，例如 --name population_2024",
        )
    return name


def _claim(
    session: Session,
    name: str,
    replace: bool,
    principal: Principal | None,
    department_id: int | None,
) -> Dataset | None:
    """The dataset a replacement overwrites, after checking the caller may overwrite it."""
    existing = session.scalar(select(Dataset).where(Dataset.name == name))
    if existing is None:
        return None
    if not replace:
        raise Conflict(f"数据集 {name} 已登记", hint="换一个名称，或加 --replace 用新文件替换")
    if principal is not None and not _may_write(principal, existing.department_id):
        raise PermissionDenied(
            f"无权替换数据集 {name}：它属于其他部门", hint="换一个名称登记为新数据集"
        )
    if department_id is not None and department_id != existing.department_id:
        raise PermissionDenied(
            f"替换不会改变数据集 {name} 的所属部门",
            hint="替换时不指定部门，或换一个名称登记为新数据集",
        )
    return existing


def _may_write(principal: Principal, department_id: int | None) -> bool:
    # A dataset without a department is everyone's: only a role held for all departments may
    # change it (``Principal.can`` with no department would accept any department's role).
    if department_id is None:
        return principal.visible_departments(MANAGE) is None
    return principal.can(MANAGE, department_id)


def _owner(
    principal: Principal | None, existing: Dataset | None, department_id: int | None, perm: str
) -> int | None:
    """The owning department: kept on replacement, else asked for, else the caller's only one."""
    if existing is not None:
        return existing.department_id
    if principal is None:
        return department_id
    visible = principal.visible_departments(perm)
    if department_id is not None:
        if visible is not None and department_id not in visible:
            raise PermissionDenied("不能为其他部门登记数据集", hint="选择您所在的部门")
        return department_id
    if visible is None:
        return None
    if len(visible) == 1:
        return next(iter(visible))
    raise InvalidInput(
        "请指定数据集的所属部门（department_id）",
        hint="不属于任何部门的数据集只能由全局管理员登记",
    )


def _parquet_path(settings: Settings, name: str) -> Path:
    return datasets_dir(settings) / f"{name}.parquet"


def _store(
    session: Session,
    dataset: Dataset | None,
    name: str,
    loaded: LoadedTable,
    ref: str,
    title: str,
    department_id: int | None,
    actor: str,
) -> Dataset:
    if dataset is None:
        dataset = Dataset(name=name, storage_path=str(loaded.parquet))
        session.add(dataset)
    dataset.title = title or dataset.title or name
    dataset.department_id = department_id if department_id is not None else dataset.department_id
    dataset.source_kind, dataset.source_ref = loaded.source_kind, ref[:500]
    dataset.encoding, dataset.storage_path = loaded.encoding, str(loaded.parquet)
    dataset.row_count, dataset.columns = loaded.rows, loaded.columns
    dataset.profile = {"column_groups": loaded.column_groups} if loaded.column_groups else None
    dataset.registered_by = actor
    session.flush()
    audit(
        session,
        "data.register",
        actor=actor,
        target=f"dataset:{name}",
        department_id=dataset.department_id,
        rows=loaded.rows,
        source=loaded.source_kind,
    )
    detect_fields(session, dataset)
    return dataset


def detect_fields(session: Session, dataset: Dataset) -> list[DatasetField]:
    """Detect sensitive columns now, so masked views apply before anyone profiles the dataset.

    Each column gets its detected kind and proposed grade; ``effective_grade`` then masks it
    until a data officer confirms. A column whose kind changed (a replaced file) loses its
    confirmed grade, so that protection follows the new data until someone confirms again.
    """
    kinds = detect_kinds(Path(dataset.storage_path))
    existing = {f.name: f for f in fields_of(session, dataset.id)}
    for position, column in enumerate(dataset.columns):
        row = existing.pop(column, None) or DatasetField(dataset_id=dataset.id, name=column)
        kind = kinds.get(column)
        if row.id is not None and row.kind != kind:
            row.grade, row.confirmed_by, row.confirmed_by_name, row.confirmed_at = (None,) * 4
        proposal = propose_grade(column, kind)
        row.position, row.kind = position, kind
        row.proposed_grade, row.grade_reasons = proposal.grade.value, proposal.reasons
        session.add(row)
    for gone in existing.values():
        session.delete(gone)
    session.flush()
    return fields_of(session, dataset.id)


def detect_kinds(parquet: Path) -> dict[str, str | None]:
    """Each column's sensitive kind, judged on the same sample the profile uses."""
    con = connect({"t": parquet})
    try:
        con.execute(
            f"CREATE TEMP TABLE s AS SELECT * FROM t "
            f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
        )
        kinds: dict[str, str | None] = {}
        for column in con.sql("SELECT * FROM s LIMIT 0").columns:
            counted = con.execute(f"SELECT count(*) FROM s WHERE NOT {is_blank(quote(column))}")
            filled = int((counted.fetchone() or (0,))[0])
            found = detect_column(con, "s", column, filled)
            kinds[column] = found.kind if found else None
    finally:
        con.close()
    return kinds


def shown_source(dataset: Dataset) -> str:
    """Where the data came from, without server paths: a file name, or a host and a table."""
    ref = dataset.source_ref or ""
    if dataset.source_kind in ("csv", "excel"):
        return Path(ref).name
    url, _, table = ref.rpartition("#")
    try:
        parsed = parse_database_url(url)
    except InvalidInput:
        return table
    if parsed.get_backend_name() == "sqlite":
        return f"{Path(parsed.database or '').name}#{table}"
    return f"{parsed.host or 'localhost'}/{parsed.database or ''}#{table}"


def get_dataset(session: Session, ref: int | str) -> Dataset:
    if isinstance(ref, int) or str(ref).isdigit():
        dataset = session.get(Dataset, int(ref))
    else:
        dataset = session.scalar(select(Dataset).where(Dataset.name == ref))
    if dataset is None:
        raise NotFound(f"数据集 {ref} 不存在", hint="用 `shuzhi data list` 查看已登记的数据集")
    return dataset


def data_file(dataset: Dataset) -> Path:
    """The dataset's Parquet copy, or :class:`Conflict` when it is gone from the disk.

    The copy lives under the data directory; an operator who cleaned the folder or restored the
    database alone leaves datasets that point at nothing. Registering the source file again
    rebuilds the copy and keeps the people's decisions (grades, rules, templates).
    """
    path = Path(dataset.storage_path)
    if not path.is_file():
        raise Conflict(
            f"数据集 {dataset.name} 的数据文件已不存在（可能被删除或移动），无法读取",
            hint=f"请重新登记该数据集：shuzhi data register <原文件> --name {dataset.name} "
            "--replace（接口：POST /api/data/datasets 并设 replace=true）",
        )
    return path


def list_datasets(session: Session, departments: set[int] | None = None) -> list[Dataset]:
    """Datasets visible within ``departments`` (``None``: all); unowned ones are visible to all."""
    query = select(Dataset).order_by(Dataset.name)
    if departments is not None:
        query = query.where(
            Dataset.department_id.in_(departments) | Dataset.department_id.is_(None)
        )
    return list(session.scalars(query))


# ---------------------------------------------------------------- profiling and grading


def profile_dataset(
    session: Session, dataset: Dataset, *, drafter: CatalogueDrafter | None = None
) -> DatasetProfile:
    """Profile, detect sensitive fields, and propose grades, rules and a catalogue entry."""
    profile = profile_parquet(data_file(dataset))
    groups = (dataset.profile or {}).get("column_groups", {})
    dataset.profile = {**profile.to_dict(), "column_groups": groups}
    dataset.profiled_at, dataset.row_count = utcnow(), profile.rows
    _sync_fields(session, dataset, profile)
    if not session.scalar(select(QualityRuleRow.id).where(QualityRuleRow.dataset_id == dataset.id)):
        for rule in propose_rules(profile):
            session.add(_rule_row(dataset.id, rule))
    _queue_grading(session, dataset)
    draft_catalogue(session, dataset, drafter=drafter)
    session.flush()
    log.info("profiled dataset %s: %d rows in %.2fs", dataset.name, profile.rows, profile.seconds)
    return profile


def stored_profile(dataset: Dataset) -> DatasetProfile:
    if not dataset.profile or "columns" not in dataset.profile:
        raise Conflict(
            f"数据集 {dataset.name} 尚未分析", hint=f"先运行 `shuzhi data profile {dataset.name}`"
        )
    return DatasetProfile.from_dict(dataset.profile)


def _sync_fields(session: Session, dataset: Dataset, profile: DatasetProfile) -> None:
    existing = {f.name: f for f in fields_of(session, dataset.id)}
    for col in profile.columns:
        row = existing.pop(col.name, None) or DatasetField(dataset_id=dataset.id, name=col.name)
        proposal = propose_grade(col.name, col.pii_kind)
        reasons = (col.detection.reasons if col.detection else []) + proposal.reasons
        row.position, row.inferred_type, row.kind = col.position, col.inferred_type, col.pii_kind
        if row.proposed_grade != proposal.grade.value or row.grade is None:
            row.proposed_grade, row.grade_reasons = proposal.grade.value, reasons
        session.add(row)
    for gone in existing.values():
        session.delete(gone)
    session.flush()


def fields_of(session: Session, dataset_id: int) -> list[DatasetField]:
    return list(
        session.scalars(
            select(DatasetField)
            .where(DatasetField.dataset_id == dataset_id)
            .order_by(DatasetField.position)
        )
    )


def _pending_task(session: Session, kind: str, dataset_id: int) -> ReviewTask | None:
    return session.scalar(
        select(ReviewTask).where(
            ReviewTask.kind == kind,
            ReviewTask.subject_id == str(dataset_id),
            ReviewTask.status == review.Status.PENDING.value,
        )
    )


def _queue_grading(session: Session, dataset: Dataset) -> ReviewTask | None:
    unconfirmed = [f for f in fields_of(session, dataset.id) if f.grade is None]
    if not unconfirmed:
        return None
    proposal = {
        "dataset": dataset.name,
        "grades": {f.name: f.proposed_grade for f in fields_of(session, dataset.id)},
        "reasons": {f.name: f.grade_reasons for f in unconfirmed},
    }
    task = _pending_task(session, GRADING_TASK, dataset.id)
    if task is not None:
        task.proposal = proposal
        return task
    return review.create_review_task(
        session,
        dataset.department_id,
        GRADING_TASK,
        "dataset",
        dataset.id,
        f"数据分级确认：{dataset.title or dataset.name}",
        proposal,
        due_in_working_days=5,
    )


def confirm_grades(
    session: Session,
    dataset: Dataset,
    principal: Principal,
    *,
    grades: dict[str, str] | None = None,
    reason: str = "",
) -> list[DatasetField]:
    """A named data officer accepts the proposed grades, or changes some of them (with a reason)."""
    task = _pending_task(session, GRADING_TASK, dataset.id)
    if task is None:
        raise Conflict(
            f"数据集 {dataset.name} 没有待确认的分级", hint="重新分析数据集会生成新的分级建议"
        )
    if grades:
        edited = {
            **task.proposal,
            "grades": {**task.proposal["grades"], **_checked(grades, dataset)},
        }
        review.decide(session, task.id, principal, review.Action.EDIT, reason=reason, edited=edited)
    else:
        review.decide(session, task.id, principal, review.Action.ACCEPT, reason=reason)
    return fields_of(session, dataset.id)


def _checked(grades: dict[str, str], dataset: Dataset) -> dict[str, str]:
    for column, grade in grades.items():
        if column not in dataset.columns:
            raise InvalidInput(
                f"数据集中没有列 {column!r}", hint="可用的列：" + "、".join(dataset.columns)
            )
        if grade not in {g.value for g in Grade}:
            raise InvalidInput(
                f"未知的分级 {grade!r}",
                hint="可选 general（一般）、important（重要）、core（核心）",
            )
    return grades


def _apply_grades(session: Session, task: ReviewTask) -> None:
    if task.status == review.Status.REJECTED.value:
        return
    content = (task.decision or {}).get("content") or {}
    chosen: dict[str, str] = content.get("grades", {})
    for row in fields_of(session, int(task.subject_id)):
        if row.name in chosen:
            row.grade = chosen[row.name]
            row.confirmed_by, row.confirmed_by_name = task.decided_by, task.decided_by_name
            row.confirmed_at = task.decided_at


def effective_grade(row: DatasetField) -> Grade:
    """The confirmed grade; until a person confirms, the proposal (so protection starts at once)."""
    return Grade(row.grade or row.proposed_grade)


# ---------------------------------------------------------------- quality


def rules_of(session: Session, dataset_id: int) -> list[QualityRuleRow]:
    return list(
        session.scalars(
            select(QualityRuleRow)
            .where(QualityRuleRow.dataset_id == dataset_id)
            .order_by(QualityRuleRow.id)
        )
    )


def _rule_row(dataset_id: int, rule: Rule) -> QualityRuleRow:
    return QualityRuleRow(
        dataset_id=dataset_id,
        kind=rule.kind,
        column=rule.column,
        params=rule.params,
        enabled=rule.enabled,
        source=rule.source,
    )


def _as_rule(row: QualityRuleRow) -> Rule:
    return Rule(row.kind, row.column, dict(row.params), row.id, row.enabled, row.source)


def add_rule(session: Session, dataset: Dataset, rule: Rule, *, actor: str) -> QualityRuleRow:
    check_rule(rule, dataset.columns)
    if rule.kind == "referential":
        target = get_dataset(session, rule.params["dataset"])
        check_rule(Rule("completeness", rule.params["column"]), target.columns)
    row = _rule_row(dataset.id, Rule(rule.kind, rule.column, rule.params, source="human"))
    session.add(row)
    session.flush()
    audit(session, "data.rule.add", actor=actor, target=f"dataset:{dataset.name}", rule=row.id)
    return row


def update_rule(
    session: Session,
    rule_id: int,
    *,
    actor: str,
    params: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> QualityRuleRow:
    row = session.get(QualityRuleRow, rule_id)
    if row is None:
        raise NotFound(f"质量规则 {rule_id} 不存在")
    if params is not None:
        dataset = session.get(Dataset, row.dataset_id)
        assert dataset is not None
        check_rule(Rule(row.kind, row.column, params), dataset.columns)
        row.params, row.source = params, "human"
    if enabled is not None:
        row.enabled = enabled
    audit(session, "data.rule.update", actor=actor, target=f"rule:{rule_id}", enabled=row.enabled)
    return row


def run_quality(session: Session, dataset_id: int, *, triggered_by: str = "schedule") -> QualityRun:
    """Evaluate a dataset's enabled rules and store the run. Plain function for jobs and the API."""
    dataset = get_dataset(session, dataset_id)
    rules = [_as_rule(r) for r in rules_of(session, dataset.id) if r.enabled]
    if not rules:
        raise Conflict(
            f"数据集 {dataset.name} 没有启用的质量规则", hint="先分析数据集，或手工添加规则"
        )
    references = {
        r.params["dataset"]: data_file(get_dataset(session, r.params["dataset"]))
        for r in rules
        if r.kind == "referential"
    }
    masks = {f.name: f.kind for f in fields_of(session, dataset.id) if f.kind}
    report = run_rules(data_file(dataset), rules, masks=masks, references=references)
    run = QualityRun(
        dataset_id=dataset.id,
        row_count=report.rows,
        score=report.score,
        results=report.to_dict()["results"],
        seconds=report.seconds,
        triggered_by=triggered_by,
    )
    session.add(run)
    session.flush()
    log.info("quality run on %s: score %.2f over %d rules", dataset.name, run.score, len(rules))
    return run


def quality_trend(session: Session, dataset_id: int, limit: int = 30) -> list[QualityRun]:
    """The latest runs, oldest first, for a trend line."""
    runs = session.scalars(
        select(QualityRun)
        .where(QualityRun.dataset_id == dataset_id)
        .order_by(QualityRun.id.desc())
        .limit(limit)
    )
    return list(reversed(list(runs)))


# ---------------------------------------------------------------- catalogue


def draft_catalogue(
    session: Session, dataset: Dataset, *, drafter: CatalogueDrafter | None = None
) -> CatalogueEntry:
    """(Re)draft the catalogue entry unless a person already confirmed it."""
    entry = session.scalar(select(CatalogueEntry).where(CatalogueEntry.dataset_id == dataset.id))
    if entry is not None and entry.status == "confirmed":
        return entry
    grades = {f.name: effective_grade(f).value for f in fields_of(session, dataset.id)}
    department = session.get(Department, dataset.department_id) if dataset.department_id else None
    draft = draft_entry(
        dataset.name,
        stored_profile(dataset),
        grades,
        title=dataset.title,
        department=department.name if department else "",
        groups=(dataset.profile or {}).get("column_groups"),
        drafter=drafter,
    )
    values = {k: v for k, v in asdict(draft).items() if k != "reasons"}
    if entry is None:
        entry = CatalogueEntry(dataset_id=dataset.id, **values)
        session.add(entry)
    else:
        for key, value in values.items():
            setattr(entry, key, value)
    session.flush()
    _queue_catalogue(session, dataset, draft.to_dict())
    return entry


def catalogue_of(session: Session, dataset: Dataset) -> CatalogueEntry:
    entry = session.scalar(select(CatalogueEntry).where(CatalogueEntry.dataset_id == dataset.id))
    if entry is None:
        raise NotFound(
            f"数据集 {dataset.name} 还没有目录条目",
            hint=f"先分析：shuzhi data profile {dataset.name}",
        )
    return entry


def _queue_catalogue(session: Session, dataset: Dataset, proposal: dict[str, Any]) -> None:
    task = _pending_task(session, CATALOGUE_TASK, dataset.id)
    if task is not None:
        task.proposal = proposal
        return
    review.create_review_task(
        session,
        dataset.department_id,
        CATALOGUE_TASK,
        "dataset",
        dataset.id,
        f"数据目录确认：{dataset.title or dataset.name}",
        proposal,
        due_in_working_days=5,
    )


def confirm_catalogue(
    session: Session,
    dataset: Dataset,
    principal: Principal,
    *,
    edits: dict[str, Any] | None = None,
    reason: str = "",
) -> CatalogueEntry:
    task = _pending_task(session, CATALOGUE_TASK, dataset.id)
    if task is None:
        raise Conflict(f"数据集 {dataset.name} 没有待确认的目录草稿", hint="先分析数据集")
    if edits:
        if "sharing" in edits and edits["sharing"] not in ("unconditional", "conditional", "none"):
            raise InvalidInput("共享属性须为 unconditional、conditional 或 none")
        edited = {**task.proposal, **edits}
        review.decide(session, task.id, principal, review.Action.EDIT, reason=reason, edited=edited)
    else:
        review.decide(session, task.id, principal, review.Action.ACCEPT, reason=reason)
    entry = session.scalar(select(CatalogueEntry).where(CatalogueEntry.dataset_id == dataset.id))
    assert entry is not None
    return entry


def _apply_catalogue(session: Session, task: ReviewTask) -> None:
    entry = session.scalar(
        select(CatalogueEntry).where(CatalogueEntry.dataset_id == int(task.subject_id))
    )
    if entry is None or task.status == review.Status.REJECTED.value:
        return
    content = (task.decision or {}).get("content") or {}
    for key in ("title", "description", "department", "update_cycle", "sharing", "fields"):
        if key in content:
            setattr(entry, key, content[key])
    entry.status = "confirmed"
    entry.drafted_by = "human" if task.status == review.Status.EDITED.value else entry.drafted_by
    entry.confirmed_by, entry.confirmed_by_name = task.decided_by, task.decided_by_name
    entry.confirmed_at = task.decided_at


review.on_decision(GRADING_TASK, _apply_grades)
review.on_decision(CATALOGUE_TASK, _apply_catalogue)


# ---------------------------------------------------------------- questions


def add_template(session: Session, question: str, sql: str, *, actor: str) -> SqlTemplateRow:
    """Propose a question → SQL template; it answers questions once an officer approves it."""
    names = [d.name for d in list_datasets(session)]
    template = asking.SqlTemplate(question.strip(), sql.strip())
    placeholder = {slot: "x" for slot in template.slots}
    from shuzhi.dataofficer.guard import check_select

    check_select(asking.bind(template.sql, placeholder), names)
    row = SqlTemplateRow(question=template.question, sql=template.sql, proposed_by=actor)
    session.add(row)
    session.flush()
    audit(session, "data.template.add", actor=actor, target=f"sql_template:{row.id}")
    return row


def approve_template(session: Session, template_id: int, principal: Principal) -> SqlTemplateRow:
    row = session.get(SqlTemplateRow, template_id)
    if row is None:
        raise NotFound(f"问答模板 {template_id} 不存在")
    if principal.user_id is None:
        raise PermissionDenied("模板须由具名数据官审核", hint="请用个人账号操作")
    row.status, row.approved_by, row.approved_by_name = (
        "approved",
        principal.user_id,
        principal.name,
    )
    row.approved_at = utcnow()
    audit(session, "data.template.approve", actor=principal.name, target=f"sql_template:{row.id}")
    return row


def templates(session: Session, *, approved_only: bool = False) -> list[SqlTemplateRow]:
    query = select(SqlTemplateRow).order_by(SqlTemplateRow.id)
    if approved_only:
        query = query.where(SqlTemplateRow.status == "approved")
    return list(session.scalars(query))


def clearance_of(principal: Principal) -> Grade:
    """Who manages data sees important fields in clear; everyone else sees them masked."""
    return Grade.IMPORTANT if principal.can("data.manage") else Grade.GENERAL


def views_for(session: Session, principal: Principal) -> dict[str, asking.TableView]:
    """The datasets ``principal`` may ask about, each masked above the principal's clearance."""
    visible = list_datasets(session, principal.visible_departments("data.ask"))
    return {d.name: view_of(session, d, clearance_of(principal)) for d in visible}


def view_of(session: Session, dataset: Dataset, clearance: Grade) -> asking.TableView:
    """The dataset as seen with ``clearance``: fields graded above it masked, core ones hidden.

    A dataset registered before detection ran at registration has no fields yet: they are
    detected now rather than shown in clear.
    """
    masked: dict[str, str] = {}
    hidden: list[str] = []
    for f in fields_of(session, dataset.id) or detect_fields(session, dataset):
        grade = effective_grade(f)
        if grade is Grade.CORE and clearance is not Grade.CORE:
            hidden.append(f.name)
        elif grade.rank > clearance.rank:
            masked[f.name] = f.kind or "custom"
    path = data_file(dataset)
    return asking.TableView(path, masked, hidden, dataset.title, list(dataset.columns))


def preview(
    session: Session, settings: Settings, dataset: Dataset, principal: Principal, limit: int = 20
) -> tuple[list[str], list[list[Any]]]:
    """The first rows as ``principal`` may see them (the masked view of a lower grade)."""
    view = view_of(session, dataset, clearance_of(principal))
    sql = f"SELECT * FROM {dataset.name} LIMIT {int(limit)}"
    views = {dataset.name: view}
    columns, rows, _ = asking.run_select(sql, views, datasets_dir(settings), max_rows=limit)
    texts = [i for i, c in enumerate(columns) if view.masked.get(c) == "text_with_pii"]
    for row in rows:
        for i in texts:
            row[i] = shown_text("text_with_pii", row[i]) if row[i] is not None else None
    return columns, rows


def ask(
    session: Session,
    settings: Settings,
    question: str,
    principal: Principal,
    *,
    drafter: asking.SqlDrafter | None = None,
    max_rows: int = asking.MAX_ROWS,
    timeout: float = asking.TIMEOUT_SECONDS,
) -> asking.Answer:
    rows = templates(session, approved_only=True)
    library = [asking.SqlTemplate(r.question, r.sql, r.id, True) for r in rows]
    result = asking.answer(
        question,
        views_for(session, principal),
        library,
        allowed_dir=datasets_dir(settings),
        drafter=drafter,
        max_rows=max_rows,
        timeout=timeout,
    )
    if result.template_id is not None:
        used = session.get(SqlTemplateRow, result.template_id)
        if used is not None:
            used.uses += 1
    audit(
        session,
        "data.ask",
        actor=principal.name,
        target=result.source,
        rows=len(result.rows),
        mode=result.mode,
    )
    return result
