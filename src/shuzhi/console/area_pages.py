"""Console pages of the other concerns: employees, scenarios, knowledge, work orders, models,
data officer. Each reads its records through the owning package; AI text carries its label."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from shuzhi.api.deps import DbSession
from shuzhi.console.web import page, render
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import Department, Employee, ModelUsage, Scenario, WorkOrder

router = APIRouter(prefix="/console", include_in_schema=False)


def _scoped(query: Any, column: Any, principal: Principal, permission: str) -> Any:
    visible = principal.visible_departments(permission)
    return query if visible is None else query.where(column.in_(visible))


def _departments(session: Any) -> dict[int, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


@router.get("/employees")
def employees_page(
    request: Request, principal: Annotated[Principal, page("employee.read")], session: DbSession
) -> Response:
    query = _scoped(select(Employee), Employee.department_id, principal, "employee.read")
    employees = list(session.scalars(query.order_by(Employee.id)))
    return render(request, "employees.html", {"employees": employees,
                                              "departments": _departments(session)})  # fmt: skip


@router.get("/scenarios")
def scenarios_page(
    request: Request, principal: Annotated[Principal, page("scenario.read")], session: DbSession
) -> Response:
    query = select(Scenario).order_by(Scenario.field, Scenario.slug)
    by_field: dict[str, list[Scenario]] = {}
    for scenario in session.scalars(query):
        if principal.can("scenario.read", scenario.department_id):
            by_field.setdefault(scenario.field, []).append(scenario)
    return render(request, "scenarios.html", {"by_field": by_field})


@router.get("/knowledge")
def knowledge_page(
    request: Request, _: Annotated[Principal, page("kb.read")], session: DbSession
) -> Response:
    return render(request, "knowledge.html", {})


@router.get("/workorders")
def workorders_page(
    request: Request, principal: Annotated[Principal, page("workorder.read")], session: DbSession
) -> Response:
    query = _scoped(select(WorkOrder), WorkOrder.department_id, principal, "workorder.read")
    orders = list(session.scalars(query.order_by(WorkOrder.id.desc()).limit(200)))
    return render(request, "workorders.html", {"orders": orders})


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
    return render(request, "models.html", {"rows": rows.all()})


@router.get("/data")
def data_page(
    request: Request, _: Annotated[Principal, page("data.read")], session: DbSession
) -> Response:
    return render(request, "data.html", {})
