"""Console pages of the other concerns: employees, scenarios, knowledge, models, data officer
(work orders are in ``workorder_pages``). Each reads its records through the owning package; AI
text carries its label."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import func, select

from shuzhi.api.deps import DbSession, client_ip, get_db
from shuzhi.api.routes.knowledge import (
    import_upload,
    knowledge_service,
    readable_bases,
    readable_grades,
)
from shuzhi.console import chat
from shuzhi.console.web import language, local_time, page, render
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.platform.identity import Principal
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, ModelUsage

DatabaseDep = Annotated[Database, Depends(get_db)]

router = APIRouter(prefix="/console", include_in_schema=False)


def _scoped(query: Any, column: Any, principal: Principal, permission: str) -> Any:
    visible = principal.visible_departments(permission)
    return query if visible is None else query.where(column.in_(visible))


def _departments(session: Any) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


def _employees_context(session: Any, principal: Principal) -> dict[str, Any]:
    from shuzhi.employees import service

    employees = service.list_employees(session, principal.visible_departments("employee.read"))
    return {
        "employees": employees,
        "departments": _departments(session),
        "transitions": service.TRANSITIONS,
        "state_labels": service.STATE_LABELS,
    }


@router.get("/employees")
def employees_page(
    request: Request, principal: Annotated[Principal, page("employee.read")], session: DbSession
) -> Response:
    return render(request, "employees.html", _employees_context(session, principal))


@router.get("/scenarios")
def scenarios_page(
    request: Request, _: Annotated[Principal, page("scenario.read")], db: DatabaseDep
) -> Response:
    from shuzhi.scenarios import FIELD_NAMES_ZH, load_catalogue

    catalogue = load_catalogue(db=db)
    groups = [(FIELD_NAMES_ZH[f], f.value, items) for f, items in catalogue.by_field().items()]
    return render(request, "scenarios.html", {"groups": groups, "total": len(catalogue)})


@router.get("/knowledge")
def knowledge_page(
    request: Request, principal: Annotated[Principal, page("kb.read")], session: DbSession
) -> Response:
    bases = readable_bases(request, principal)
    writable = [kb for kb, _, _ in bases if principal.can("kb.write", kb.department_id)]
    context = {"bases": bases, "writable": writable, "departments": _departments(session)}
    return render(request, "knowledge.html", context)


@router.post("/knowledge/search")
def knowledge_search(
    request: Request,
    principal: Annotated[Principal, page("kb.read")],
    kb: Annotated[str, Form()],
    query: Annotated[str, Form()],
) -> Response:
    passages = knowledge_service(request).search(
        [kb], query, k=5, grades=readable_grades(principal),
        departments=principal.visible_departments("kb.read"),
    )  # fmt: skip
    return render(request, "_kb_results.html", {"passages": passages})


@router.post("/knowledge/upload")
async def knowledge_upload(
    request: Request,
    principal: Annotated[Principal, page("kb.write")],
    session: DbSession,
    kb: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    session.commit()  # release SQLite's write lock before the import writes
    grades = readable_grades(principal)
    report = await import_upload(request, principal, session, kb, file, grades)
    return render(request, "_kb_upload.html", {"report": report, "name": file.filename})


@router.get("/models")
def models_page(
    request: Request, principal: Annotated[Principal, page("usage.read")], session: DbSession
) -> Response:
    query = select(
        ModelUsage.endpoint,
        ModelUsage.model,
        func.count(ModelUsage.id),
        func.coalesce(func.sum(ModelUsage.prompt_tokens + ModelUsage.completion_tokens), 0),
        func.coalesce(func.sum(ModelUsage.cost), 0.0),
        func.avg(ModelUsage.latency_ms),
    ).group_by(ModelUsage.endpoint, ModelUsage.model)
    rows = session.execute(_scoped(query, ModelUsage.department_id, principal, "usage.read"))
    context = {"rows": rows.all(), "endpoints": _endpoints(session)}
    return render(request, "models.html", context)


def _endpoints(session: Any) -> list[Any]:
    from shuzhi.gateway.registry import list_endpoints

    return list_endpoints(session)


@router.get("/data")
def data_page(
    request: Request, principal: Annotated[Principal, page("data.read")], session: DbSession
) -> Response:
    from shuzhi.dataofficer.service import list_datasets

    datasets = list_datasets(session, principal.visible_departments("data.read"))
    context = {"datasets": datasets, "departments": _departments(session)}
    return render(request, "data.html", context)


@router.get("/data/{name}")
def dataset_page(
    name: str,
    request: Request,
    principal: Annotated[Principal, page("data.read")],
    session: DbSession,
) -> Response:
    from shuzhi.dataofficer import service

    dataset = service.get_dataset(session, name)
    visible = principal.visible_departments("data.read")
    if visible is not None and dataset.department_id not in visible | {None}:
        raise NotFound(f"数据集 {name} 不存在", hint="在“AI数据官”页面查看本部门的数据集")
    runs = service.quality_trend(session, dataset.id)
    context = {
        "dataset": dataset,
        "fields": service.fields_of(session, dataset.id),
        "runs": runs,
        "trend": _trend(runs),
        "entry": _catalogue_entry(session, dataset),
        "departments": _departments(session),
        "kind_label": _kind_label,
    }
    return render(request, "dataset.html", context)


def _trend(runs: list[Any]) -> str:
    points = {
        "at": [local_time(r.created_at) for r in runs],
        "score": [round(r.score, 1) for r in runs],
    }
    return json.dumps(points)


def _catalogue_entry(session: Any, dataset: Any) -> Any:
    from shuzhi.dataofficer import service

    try:
        return service.catalogue_of(session, dataset)
    except NotFound:
        return None


def _kind_label(kind: str | None) -> str:
    from shuzhi.dataofficer.sensitive import kind_label

    try:
        return kind_label(kind) if kind else ""
    except ValueError:
        return kind or ""


@router.get("/jobs")
def jobs_page(
    request: Request, principal: Annotated[Principal, page("job.read")], session: DbSession
) -> Response:
    from shuzhi.jobs import all_kinds, store
    from shuzhi.jobs.public import public_text

    departments = principal.visible_departments("job.read")
    jobs = store.list_jobs(session, departments=departments, limit=100)
    data_dir = request.app.state.settings.data_dir
    errors = {j.id: public_text(j.error, data_dir) for j in jobs if j.error}
    lang = language(request)
    titles = {kind.name: kind.label(lang) for kind in all_kinds()}  # the CLI's and API's words
    context = {"jobs": jobs, "errors": errors, "status_zh": store.STATUS_ZH, "titles": titles}
    return render(request, "jobs.html", context)


@router.get("/employees/{slug}/chat")
def chat_page(
    slug: str,
    request: Request,
    principal: Annotated[Principal, page("employee.chat")],
    session: DbSession,
) -> Response:
    employee = chat.employee_for_chat(session, slug, principal)
    return render(request, "chat.html", {"employee": employee})


@router.post("/employees/{slug}/chat")
def chat_send(
    slug: str,
    request: Request,
    principal: Annotated[Principal, page("employee.chat")],
    session: DbSession,
    message: Annotated[str, Form()],
    conversation: Annotated[str, Form()] = "",
) -> Response:
    employee = chat.employee_for_chat(session, slug, principal)
    turn = chat.reply(request, session, employee, principal, message, conversation)
    return render(request, "_chat_turn.html", {"turn": turn, "question": message})


@router.post("/employees/{slug}/lifecycle")
def employee_lifecycle(
    slug: str,
    request: Request,
    principal: Annotated[Principal, page("employee.lifecycle")],
    session: DbSession,
    target: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    from shuzhi.employees import service

    employee = chat.employee_for_chat(session, slug, principal)
    if not principal.can("employee.lifecycle", employee.department_id):
        raise NotFound(f"数智员工 {slug} 不存在")
    try:
        service.transition(
            session, slug, target, principal.name, reason, source_ip=client_ip(request)
        )
    except Conflict:
        session.commit()  # keep the audit record of the refused transition
        raise
    return render(request, "_employees_table.html", _employees_context(session, principal))


@router.post("/conversations/{public_id}/satisfaction")
def chat_rate(
    public_id: str,
    request: Request,
    principal: Annotated[Principal, page("employee.chat")],
    session: DbSession,
    score: Annotated[int, Form()],
) -> Response:
    from shuzhi.storage.models import Conversation

    found = session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    if found is None or not principal.can("employee.chat", found.department_id):
        raise NotFound(f"会话 {public_id} 不存在")
    if not 1 <= score <= 5:
        raise InvalidInput("满意度须为 1 到 5")
    found.satisfaction = score
    return render(request, "_message.html", {"ok": "chat.rated"})
