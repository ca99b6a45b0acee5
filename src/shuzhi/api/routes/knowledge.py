"""``/api/kb``: knowledge bases — create, list, upload, search with citations, ask."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shuzhi.aigc import visible_label
from shuzhi.api.deps import DbSession, client_ip, require
from shuzhi.errors import InvalidInput, PermissionDenied
from shuzhi.knowledge import Answer, Grade, ImportReport, KnowledgeService, Passage, SearchFilters
from shuzhi.knowledge import readable_grades as knowledge_grades
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import KnowledgeBase
from shuzhi.validation import Name, Text

router = APIRouter(prefix="/api/kb", tags=["knowledge"])


def knowledge_service(request: Request) -> KnowledgeService:
    """The application's one knowledge service (shared with the console), created on first use."""
    service: KnowledgeService | None = getattr(request.app.state, "knowledge", None)
    if service is None:
        service = KnowledgeService(request.app.state.db, request.app.state.settings)
        request.app.state.knowledge = service
    return service


# An upload is read into memory whole; larger files are imported on the server (shuzhi kb import).
MAX_UPLOAD_BYTES = 50 * 2**20


def readable_grades(principal: Principal) -> list[Grade]:
    """Restricted bases also need ``kb.read_restricted``."""
    return knowledge_grades(principal.can)


def readable_bases(request: Request, principal: Principal) -> list[tuple[KnowledgeBase, int, int]]:
    """The bases ``principal`` may search, with their document and chunk counts: the grade and
    department rules applied by the knowledge service itself, so a listing (here or in the
    console) never offers a base whose search would be refused, nor hides one it would allow."""
    service = knowledge_service(request)
    grades = readable_grades(principal)
    departments = principal.visible_departments("kb.read")
    found = []
    for kb, docs, chunks in service.list_bases():
        try:
            service.readable(kb, grades, departments)
        except PermissionDenied:
            continue
        found.append((kb, docs, chunks))
    return found


class KbCreate(BaseModel):
    name: Name = Field(min_length=1, max_length=128)
    grade: Grade = Grade.INTERNAL
    department_id: int | None = None
    description: Text = ""


class KbPublic(BaseModel):
    id: int
    name: str
    grade: str
    department_id: int | None
    description: str
    documents: int = 0
    chunks: int = 0


class PassagePublic(BaseModel):
    kb: str
    document_id: int
    document_title: str
    anchor: str
    version_date: date | None
    heading_path: list[str]
    citation: str
    jurisdiction: str
    score: float
    text: str

    @classmethod
    def of(cls, p: Passage) -> PassagePublic:
        return cls(
            kb=p.kb,
            document_id=p.document_id,
            document_title=p.document_title,
            anchor=p.anchor,
            version_date=p.version_date,
            heading_path=p.heading_path,
            citation=p.citation,
            jurisdiction=p.jurisdiction,
            score=round(p.score, 4),
            text=p.text,
        )


class FailurePublic(BaseModel):
    path: str
    message: str


class NotePublic(BaseModel):
    """Something the import did to one file that the uploader must hear about."""

    path: str
    message: str


class ImportPublic(BaseModel):
    seen: int
    added: int
    replaced: int
    unchanged: int
    chunks: int
    failed: list[FailurePublic]
    skipped: list[str]
    removed: list[str]
    notes: list[NotePublic]

    @classmethod
    def of(cls, r: ImportReport) -> ImportPublic:
        failed = [FailurePublic(path=f.path, message=f.message) for f in r.failed]
        return cls(
            seen=r.seen,
            added=r.added,
            replaced=r.replaced,
            unchanged=r.unchanged,
            chunks=r.chunks,
            failed=failed,
            skipped=r.skipped,
            removed=r.removed,
            notes=[NotePublic(path=n.path, message=n.message) for n in r.notes],
        )


class AskRequest(BaseModel):
    question: Text = Field(min_length=1, max_length=2000)
    citation_required: bool = True
    use_model: bool = True
    k: int = Field(default=5, ge=1, le=20)


class AnswerPublic(BaseModel):
    text: str
    mode: str
    label: str
    supported: bool
    model: str | None
    citations: list[PassagePublic]
    rewrites: list[str] = Field(
        default_factory=list,
        description="检索时除原问题外使用的改写（由大模型改写为法规用语；未用模型时为空）",
    )

    @classmethod
    def of(cls, a: Answer) -> AnswerPublic:
        return cls(
            text=a.text,
            mode=a.mode.value,
            label=visible_label(a.mode),
            supported=a.supported,
            model=a.model,
            citations=[PassagePublic.of(p) for p in a.citations],
            rewrites=a.rewrites,
        )


@router.post("", response_model=KbPublic, status_code=201)
def create_kb(
    body: KbCreate,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require("kb.write")],
) -> KbPublic:
    if not principal.can("kb.write", body.department_id):
        raise PermissionDenied("不能为其他部门创建知识库", hint="department_id 填本部门编号")
    if body.department_id is None and principal.visible_departments("kb.write") is not None:
        raise PermissionDenied(
            "只有全局管理员能创建全市共享（不属于任何部门）的知识库",
            hint="department_id 填本部门编号",
        )
    # The API-key check wrote last_used_at in this session; commit it before the service writes
    # in its own transaction, or SQLite's single writer would wait on us.
    session.commit()
    service = knowledge_service(request)
    kb = service.create(body.name, body.department_id, body.grade, body.description)
    audit(
        session,
        "kb.create",
        actor=principal.name,
        target=kb.name,
        department_id=kb.department_id,
        source_ip=client_ip(request),
        grade=kb.grade,
    )
    return KbPublic(
        id=kb.id,
        name=kb.name,
        grade=kb.grade,
        department_id=kb.department_id,
        description=kb.description,
    )


@router.get("", response_model=list[KbPublic])
def list_kbs(
    request: Request, principal: Annotated[Principal, require("kb.read")]
) -> list[KbPublic]:
    return [
        KbPublic(
            id=kb.id,
            name=kb.name,
            grade=kb.grade,
            department_id=kb.department_id,
            description=kb.description,
            documents=docs,
            chunks=chunks,
        )
        for kb, docs, chunks in readable_bases(request, principal)
    ]


@router.post("/{name}/documents", response_model=ImportPublic)
async def upload_document(
    name: str,
    request: Request,
    file: Annotated[UploadFile, File(description="md、txt、html、docx、pdf、xlsx、csv")],
    session: DbSession,
    principal: Annotated[Principal, require("kb.write")],
) -> ImportPublic:
    session.commit()  # release SQLite's write lock (see create_kb) before the import writes
    report = await import_upload(request, principal, session, name, file)
    return ImportPublic.of(report)


@router.get("/{name}/search", response_model=list[PassagePublic])
def search_kb(
    name: str,
    request: Request,
    principal: Annotated[Principal, require("kb.read")],
    q: Annotated[str, Query(min_length=1, max_length=2000, description="问题或关键词")],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    all_versions: bool = False,
) -> list[PassagePublic]:
    passages = knowledge_service(request).search(
        [name],
        q,
        k=k,
        filters=SearchFilters(all_versions=all_versions),
        grades=readable_grades(principal),
        departments=principal.visible_departments("kb.read"),
    )
    return [PassagePublic.of(p) for p in passages]


@router.post("/{name}/ask", response_model=AnswerPublic)
def ask_kb(
    name: str,
    body: AskRequest,
    request: Request,
    principal: Annotated[Principal, require("kb.read")],
) -> AnswerPublic:
    gateway = None
    if body.use_model:
        from shuzhi.api.routes.openai_compat import get_gateway

        candidate = get_gateway(request)
        gateway = candidate if candidate.available("chat") else None
    answer = knowledge_service(request).ask(
        [name],
        body.question,
        gateway,
        body.citation_required,
        k=body.k,
        grades=readable_grades(principal),
        departments=principal.visible_departments("kb.read"),
    )
    return AnswerPublic.of(answer)


async def import_upload(
    request: Request,
    principal: Principal,
    session: Session,
    name: str,
    file: UploadFile,
    grades: list[Grade] | None = None,
) -> ImportReport:
    """One uploaded file into base ``name`` (API and console): checked, size-limited, audited."""
    service = knowledge_service(request)
    writable = principal.visible_departments("kb.write")
    base = service.readable([name], grades, writable)[0]
    if base.department_id is None and writable is not None:
        raise PermissionDenied(f"知识库“{base.name}”由全市共享，只有全局管理员能向其中导入文件")
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"文件超过 {MAX_UPLOAD_BYTES // 2**20} MB，不能通过网页上传",
            hint="请拆分文件，或在服务器上用 shuzhi kb import 导入",
        )
    report: ImportReport = await run_in_threadpool(
        service.import_upload, base.id, file.filename or "", data, principal.name
    )
    audit(
        session,
        "kb.import",
        actor=principal.name,
        target=base.name,
        department_id=base.department_id,
        source_ip=client_ip(request),
        file=file.filename,
    )
    return report
