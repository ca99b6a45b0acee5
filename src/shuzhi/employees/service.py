"""Defining employees and moving them through their lifecycle, every change audited.

draft → trial → on_duty ⇄ suspended → retired. Going on duty (上岗) requires every evaluation case
of the employee's scenarios to pass offline: an employee whose work cannot be checked does not go
on duty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.employees.definition import EmployeeDefinition, builtin_definitions
from shuzhi.employees.skills import get_skill
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.platform.audit import audit
from shuzhi.scenarios import evaluate, load_catalogue
from shuzhi.scenarios.evaluation import EvalReport
from shuzhi.storage.models import Department, Employee, EmployeeVersion

STATES = ("draft", "trial", "on_duty", "suspended", "retired")
TRANSITIONS = {
    "draft": {"trial", "retired"},
    "trial": {"on_duty", "draft", "retired"},
    "on_duty": {"suspended", "retired"},
    "suspended": {"on_duty", "trial", "retired"},
    "retired": set(),
}
STATE_LABELS = {
    "draft": "草稿",
    "trial": "试用",
    "on_duty": "在岗",
    "suspended": "停岗",
    "retired": "退役",
}


@dataclass(frozen=True)
class Loaded:
    """An employee with the definition of its current version."""

    row: Employee
    definition: EmployeeDefinition


def _department(session: Session, definition: EmployeeDefinition) -> Department:
    ref = definition.department
    dept = session.scalar(select(Department).where(Department.code == ref.code))
    if dept is None:
        dept = Department(code=ref.code, name=ref.name)
        session.add(dept)
        session.flush()
    return dept


def _check_references(definition: EmployeeDefinition) -> None:
    for name in definition.skills:
        get_skill(name)
    catalogue = load_catalogue()
    unknown = [s for s in definition.scenarios if s not in catalogue.scenarios]
    if unknown:
        raise InvalidInput(
            f"员工 {definition.id} 引用了不存在的场景：{'、'.join(unknown)}",
            hint="用 `shuzhi scenarios list` 查看场景编号",
        )


def apply_definition(session: Session, definition: EmployeeDefinition, actor: str) -> Employee:
    """Create the employee, or add a version when the definition changed. Returns the row."""
    _check_references(definition)
    dept = _department(session, definition)
    data = definition.model_dump(mode="json")
    row = session.scalar(select(Employee).where(Employee.slug == definition.id))
    if row is None:
        row = Employee(slug=definition.id, name=definition.name, department_id=dept.id)
        row.current_version = 1
        session.add(row)
        session.flush()
    elif _current(session, row).definition == data:
        return row
    else:
        row.current_version += 1
        row.name = definition.name
        row.department_id = dept.id
    session.add(
        EmployeeVersion(
            employee_id=row.id, version=row.current_version, definition=data, created_by=actor
        )
    )
    session.flush()
    audit(
        session,
        "employee.define",
        actor=actor,
        target=f"employee:{row.slug}",
        department_id=dept.id,
        version=row.current_version,
    )
    return row


def _current(session: Session, row: Employee) -> EmployeeVersion:
    version = session.scalar(
        select(EmployeeVersion).where(
            EmployeeVersion.employee_id == row.id, EmployeeVersion.version == row.current_version
        )
    )
    if version is None:
        raise NotFound(f"员工 {row.slug} 缺少第 {row.current_version} 版定义")
    return version


def load(session: Session, slug: str, version: int | None = None) -> Loaded:
    row = session.scalar(select(Employee).where(Employee.slug == slug))
    if row is None:
        raise NotFound(f"没有编号为 {slug} 的数智员工", hint="用 `shuzhi employees list` 查看")
    number = version or row.current_version
    stored = session.scalar(
        select(EmployeeVersion).where(
            EmployeeVersion.employee_id == row.id, EmployeeVersion.version == number
        )
    )
    if stored is None:
        raise NotFound(f"员工 {slug} 没有第 {number} 版")
    return Loaded(row, EmployeeDefinition.model_validate(stored.definition))


def list_employees(session: Session, department_ids: set[int] | None = None) -> list[Employee]:
    query = select(Employee).order_by(Employee.slug)
    if department_ids is not None:
        query = query.where(Employee.department_id.in_(department_ids))
    return list(session.scalars(query))


def duty_gate(definition: EmployeeDefinition) -> EvalReport:
    """The evaluation that decides whether the employee may go on duty."""
    catalogue = load_catalogue()
    ids = set(definition.scenarios) | {s.id for s in catalogue.for_employee(definition.id)}
    return evaluate(sorted(ids), catalogue=catalogue)


def transition(session: Session, slug: str, target: str, actor: str, reason: str = "") -> Employee:
    if target not in STATES:
        raise InvalidInput(f"未知状态 {target}", hint=f"可选：{'、'.join(STATES)}")
    loaded = load(session, slug)
    row = loaded.row
    if target not in TRANSITIONS[row.status]:
        raise Conflict(
            f"员工 {slug} 当前为“{STATE_LABELS[row.status]}”，不能直接变为“{STATE_LABELS[target]}”",
            hint="允许的下一状态：" + "、".join(STATE_LABELS[s] for s in TRANSITIONS[row.status]),
        )
    detail: dict[str, Any] = {"from": row.status, "to": target, "reason": reason}
    if target == "on_duty":
        report = duty_gate(loaded.definition)
        detail["evaluation"] = f"{report.cases_passed}/{report.cases_total}"
        if not report.ok:
            audit(
                session,
                "employee.lifecycle",
                actor=actor,
                target=f"employee:{slug}",
                outcome="refused",
                department_id=row.department_id,
                **detail,
            )
            raise Conflict(_gate_message(slug, report), hint="修正场景或评测用例后再申请上岗")
    row.status = target
    audit(
        session,
        "employee.lifecycle",
        actor=actor,
        target=f"employee:{slug}",
        department_id=row.department_id,
        **detail,
    )
    return row


def _gate_message(slug: str, report: EvalReport) -> str:
    if not report.scenarios:
        return f"员工 {slug} 没有可评测的场景，不能上岗"
    failed = report.failures()[:3]
    listed = "；".join(f"{c.scenario_id}/{c.case}" for c in failed)
    return (
        f"员工 {slug} 的场景评测未全部通过（{report.cases_passed}/{report.cases_total}），"
        f"不能上岗。未通过：{listed}"
    )


def install_builtin(session: Session, actor: str = "system") -> list[Employee]:
    """Define the shipped employees; put new ones on duty when their evaluation passes."""
    rows = []
    for definition in builtin_definitions():
        row = apply_definition(session, definition, actor)
        if row.status == "draft":
            transition(session, row.slug, "trial", actor, "随软件发布的预置员工")
            if duty_gate(definition).ok:
                transition(session, row.slug, "on_duty", actor, "预置员工评测通过，自动上岗")
        rows.append(row)
    return rows


def count_on_duty(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Employee).where(Employee.status == "on_duty")
        )
        or 0
    )
