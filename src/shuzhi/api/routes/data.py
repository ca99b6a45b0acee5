"""``/api/data``: the AI data officer: datasets, grades, quality, catalogue, questions."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shuzhi.api.deps import DbSession, get_settings, require
from shuzhi.api.routes.openai_compat import get_gateway
from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.model import drafters
from shuzhi.dataofficer.quality import Rule
from shuzhi.errors import NotFound
from shuzhi.gateway import Caller
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import CatalogueEntry, Dataset, DatasetField, QualityRun
from shuzhi.validation import Name, Text

router = APIRouter(prefix="/api/data", tags=["data officer"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


class DatasetPublic(BaseModel):
    id: int
    name: str
    title: str
    department_id: int | None
    source_kind: str
    source_ref: str
    encoding: str | None
    row_count: int
    columns: list[str]
    profiled_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, d: Dataset) -> DatasetPublic:
        shown = cls.model_validate(d, from_attributes=True)
        # The stored reference keeps the full path for the server; callers see a file name.
        return shown.model_copy(update={"source_ref": service.shown_source(d)})


class FieldPublic(BaseModel):
    name: str
    position: int
    inferred_type: str
    kind: str | None
    proposed_grade: str
    grade_reasons: list[str]
    grade: str | None
    confirmed_by_name: str | None
    confirmed_at: datetime | None

    @classmethod
    def of(cls, f: DatasetField) -> FieldPublic:
        return cls.model_validate(f, from_attributes=True)


class DatabaseSource(BaseModel):
    url: str = Field(description="sqlite:///路径 或 postgresql+psycopg://用户@主机/库（只读读取）")
    table: Name
    name: Name | None = None
    title: Name = ""
    department_id: int | None = None
    replace: bool = False


class GradeDecision(BaseModel):
    grades: dict[str, str] | None = Field(default=None, description="要改动的列 → 分级")
    reason: Text = ""


class RuleCreate(BaseModel):
    kind: str
    column: str
    params: dict[str, Any] = Field(default_factory=dict)


class RuleUpdate(BaseModel):
    params: dict[str, Any] | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    id: int
    kind: str
    column: str
    params: dict[str, Any]
    enabled: bool
    source: str
    description: str


class RunPublic(BaseModel):
    id: int
    score: float
    row_count: int
    seconds: float
    triggered_by: str
    created_at: datetime
    results: list[dict[str, Any]]

    @classmethod
    def of(cls, run: QualityRun) -> RunPublic:
        return cls.model_validate(run, from_attributes=True)


class CatalogueDecision(BaseModel):
    edits: dict[str, Any] | None = None
    reason: Text = ""


class CataloguePublic(BaseModel):
    title: str
    description: str
    department: str
    update_cycle: str
    sharing: str
    fields: list[dict[str, Any]]
    drafted_by: str
    mode: str
    model: str | None
    status: str
    confirmed_by_name: str | None

    @classmethod
    def of(cls, e: CatalogueEntry) -> CataloguePublic:
        return cls.model_validate(e, from_attributes=True)


class Question(BaseModel):
    question: Text = Field(min_length=1, max_length=500)
    max_rows: int = Field(default=200, ge=1, le=1000)


class AnswerPublic(BaseModel):
    question: str
    sql: str
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    source: str
    mode: str
    template_id: int | None
    model: str | None


class TemplateCreate(BaseModel):
    question: Text = Field(min_length=2, max_length=500)
    sql: Text = Field(min_length=6)


class TemplatePublic(BaseModel):
    id: int
    question: str
    sql: str
    status: str
    proposed_by: str
    approved_by_name: str | None
    uses: int


def _dataset(session: Session, ref: str, principal: Principal, permission: str) -> Dataset:
    dataset = service.get_dataset(session, ref)
    if not principal.can(permission, dataset.department_id):
        raise NotFound(f"数据集 {ref} 不存在", hint="确认数据集属于您有权限的部门")
    return dataset


def _rule_public(row: Any) -> RulePublic:
    rule = Rule(row.kind, row.column, dict(row.params))
    return RulePublic(
        id=row.id,
        kind=row.kind,
        column=row.column,
        params=row.params,
        enabled=row.enabled,
        source=row.source,
        description=rule.describe(),
    )


@router.get("/datasets")
def list_datasets(
    session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> list[DatasetPublic]:
    visible = principal.visible_departments("data.read")
    return [DatasetPublic.of(d) for d in service.list_datasets(session, visible)]


@router.post("/datasets", status_code=201)
def upload_dataset(
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("data.manage")],
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK）或 xlsx")],
    name: Annotated[Name | None, Form()] = None,
    title: Annotated[Name, Form()] = "",
    department_id: Annotated[int | None, Form()] = None,
    replace: Annotated[bool, Form()] = False,
) -> DatasetPublic:
    filename = Path(file.filename or "upload.csv").name
    with tempfile.TemporaryDirectory(dir=_upload_dir(settings)) as tmp:
        path = Path(tmp) / filename
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        dataset = service.register_file(
            session,
            settings,
            path,
            name=name or Path(filename).stem,
            title=title,
            department_id=department_id,
            actor=principal.name,
            replace=replace,
            principal=principal,
        )
    return DatasetPublic.of(dataset)


def _upload_dir(settings: Settings) -> Path:
    path = service.datasets_dir(settings) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.post("/datasets/from-database", status_code=201)
def register_database(
    body: DatabaseSource,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("data.connect")],
) -> DatasetPublic:
    """Copy a table of an allow-listed database (never the platform's own); managers only."""
    dataset = service.register_database(
        session,
        settings,
        body.url,
        body.table,
        name=body.name,
        title=body.title,
        department_id=body.department_id,
        actor=principal.name,
        replace=body.replace,
        principal=principal,
    )
    return DatasetPublic.of(dataset)


@router.get("/datasets/{ref}")
def get_dataset(
    ref: str, session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> dict[str, Any]:
    dataset = _dataset(session, ref, principal, "data.read")
    return {
        "dataset": DatasetPublic.of(dataset),
        "profile": dataset.profile,
        "fields": [FieldPublic.of(f) for f in service.fields_of(session, dataset.id)],
    }


@router.get("/datasets/{ref}/rows")
def preview_rows(
    ref: str,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("data.read")],
    limit: int = 20,
) -> dict[str, Any]:
    """The first rows, with fields above the caller's clearance masked."""
    dataset = _dataset(session, ref, principal, "data.read")
    columns, rows = service.preview(session, settings, dataset, principal, min(limit, 200))
    return {"columns": columns, "rows": rows}


def _drafters(request: Request, principal: Principal) -> tuple[Any, Any]:
    """The gateway's drafters when a model endpoint is configured; offline otherwise."""
    return drafters(get_gateway(request), Caller("user", principal.name))


@router.post("/datasets/{ref}/profile")
def profile_dataset(
    ref: str,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require("data.manage")],
) -> dict[str, Any]:
    dataset = _dataset(session, ref, principal, "data.manage")
    profile = service.profile_dataset(session, dataset, drafter=_drafters(request, principal)[1])
    return {"rows": profile.rows, "seconds": profile.seconds, "profile": dataset.profile}


@router.post("/datasets/{ref}/grades/confirm")
def confirm_grades(
    ref: str,
    body: GradeDecision,
    session: DbSession,
    principal: Annotated[Principal, require("review.decide")],
) -> list[FieldPublic]:
    dataset = _dataset(session, ref, principal, "review.decide")
    rows = service.confirm_grades(
        session, dataset, principal, grades=body.grades, reason=body.reason
    )
    return [FieldPublic.of(f) for f in rows]


@router.get("/datasets/{ref}/rules")
def list_rules(
    ref: str, session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> list[RulePublic]:
    dataset = _dataset(session, ref, principal, "data.read")
    return [_rule_public(r) for r in service.rules_of(session, dataset.id)]


@router.post("/datasets/{ref}/rules", status_code=201)
def add_rule(
    ref: str,
    body: RuleCreate,
    session: DbSession,
    principal: Annotated[Principal, require("data.manage")],
) -> RulePublic:
    dataset = _dataset(session, ref, principal, "data.manage")
    rule = Rule(body.kind, body.column, body.params)
    return _rule_public(service.add_rule(session, dataset, rule, actor=principal.name))


@router.patch("/rules/{rule_id}")
def update_rule(
    rule_id: int,
    body: RuleUpdate,
    session: DbSession,
    principal: Annotated[Principal, require("data.manage")],
) -> RulePublic:
    row = service.update_rule(
        session, rule_id, actor=principal.name, params=body.params, enabled=body.enabled
    )
    _dataset(session, str(row.dataset_id), principal, "data.manage")
    return _rule_public(row)


@router.post("/datasets/{ref}/quality")
def run_quality(
    ref: str, session: DbSession, principal: Annotated[Principal, require("data.manage")]
) -> RunPublic:
    dataset = _dataset(session, ref, principal, "data.manage")
    return RunPublic.of(service.run_quality(session, dataset.id, triggered_by=principal.name))


@router.get("/datasets/{ref}/quality")
def quality_trend(
    ref: str, session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> list[RunPublic]:
    dataset = _dataset(session, ref, principal, "data.read")
    return [RunPublic.of(r) for r in service.quality_trend(session, dataset.id)]


@router.get("/datasets/{ref}/catalogue")
def get_catalogue(
    ref: str, session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> CataloguePublic:
    dataset = _dataset(session, ref, principal, "data.read")
    return CataloguePublic.of(service.catalogue_of(session, dataset))


@router.post("/datasets/{ref}/catalogue/confirm")
def confirm_catalogue(
    ref: str,
    body: CatalogueDecision,
    session: DbSession,
    principal: Annotated[Principal, require("review.decide")],
) -> CataloguePublic:
    dataset = _dataset(session, ref, principal, "review.decide")
    entry = service.confirm_catalogue(
        session, dataset, principal, edits=body.edits, reason=body.reason
    )
    return CataloguePublic.of(entry)


@router.post("/ask")
def ask(
    body: Question,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: Annotated[Principal, require("data.ask")],
) -> AnswerPublic:
    sql_drafter = _drafters(request, principal)[0]
    result = service.ask(
        session, settings, body.question, principal, drafter=sql_drafter, max_rows=body.max_rows
    )
    return AnswerPublic.model_validate(result, from_attributes=True)


@router.get("/templates")
def list_templates(
    session: DbSession, principal: Annotated[Principal, require("data.read")]
) -> list[TemplatePublic]:
    return [
        TemplatePublic.model_validate(t, from_attributes=True) for t in service.templates(session)
    ]


@router.post("/templates", status_code=201)
def add_template(
    body: TemplateCreate,
    session: DbSession,
    principal: Annotated[Principal, require("data.manage")],
) -> TemplatePublic:
    row = service.add_template(session, body.question, body.sql, actor=principal.name)
    return TemplatePublic.model_validate(row, from_attributes=True)


@router.post("/templates/{template_id}/approve")
def approve_template(
    template_id: int,
    session: DbSession,
    principal: Annotated[Principal, require("data.manage")],
) -> TemplatePublic:
    row = service.approve_template(session, template_id, principal)
    return TemplatePublic.model_validate(row, from_attributes=True)
