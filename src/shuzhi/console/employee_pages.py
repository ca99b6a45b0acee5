"""Console pages for defining digital employees: a YAML editor that checks as it saves.

A saved definition becomes a new employee in the draft state, or a new version of an existing
one; ``shuzhi.employees.service.apply_definition`` stores and audits it. Going on duty stays a
separate, gated step on the employees page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.api.deps import DbSession
from shuzhi.console import definitions
from shuzhi.console.web import page, render
from shuzhi.errors import NotFound
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import Department, Employee, KnowledgeBase

router = APIRouter(prefix="/console", include_in_schema=False)


def _home_department(session: Session, principal: Principal) -> Department | None:
    visible = principal.visible_departments("employee.write")
    query = select(Department).order_by(Department.id)
    if visible is not None:
        query = query.where(Department.id.in_(visible))
    return session.scalars(query.limit(1)).first()


def _editor_context(session: Any, text: str, employee: Employee | None) -> dict[str, Any]:
    from shuzhi.employees.skills import all_skills

    skills = [s for s in all_skills() if s.source == "builtin"]
    bases = list(session.scalars(select(KnowledgeBase.name).order_by(KnowledgeBase.name)))
    return {"text": text, "employee": employee, "skills": skills, "bases": bases}


@router.get("/employees/new")
def new_employee(
    request: Request, principal: Annotated[Principal, page("employee.write")], session: DbSession
) -> Response:
    text = definitions.template(_home_department(session, principal))
    return render(request, "employee_editor.html", _editor_context(session, text, None))


@router.get("/employees/{slug}/definition")
def edit_employee(
    slug: str,
    request: Request,
    principal: Annotated[Principal, page("employee.write")],
    session: DbSession,
) -> Response:
    row = session.scalar(select(Employee).where(Employee.slug == slug))
    if row is None or not principal.can("employee.write", row.department_id):
        raise NotFound(f"数智员工 {slug} 不存在", hint="在“数智员工”页面查看本部门的员工")
    text = definitions.current_yaml(session, slug)
    return render(request, "employee_editor.html", _editor_context(session, text, row))


@router.post("/employees/definition/check")
def check_definition(
    request: Request,
    principal: Annotated[Principal, page("employee.write")],
    session: DbSession,
    text: Annotated[str, Form()] = "",
) -> Response:
    checked = definitions.check(session, text, principal)
    return _result(request, checked, None)


@router.post("/employees/definition")
def save_definition(
    request: Request,
    principal: Annotated[Principal, page("employee.write")],
    session: DbSession,
    text: Annotated[str, Form()] = "",
) -> Response:
    checked = definitions.check(session, text, principal)
    if checked.definition is None:
        return _result(request, checked, None)
    row, created, changed = definitions.save(session, checked, principal)
    return _result(request, checked, {"row": row, "created": created, "changed": changed})


def _result(
    request: Request, checked: definitions.Checked, saved: dict[str, Any] | None
) -> Response:
    status = 422 if checked.problems else 200
    context = {"problems": checked.problems, "definition": checked.definition, "saved": saved}
    response = render(request, "_definition_result.html", context, status=status)
    # The problems belong next to the editor, not in the page's error banner (console.js).
    response.headers["HX-Retarget"] = "#definition-result"
    return response
