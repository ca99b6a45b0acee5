"""Defining employees and moving them through their lifecycle, every change audited.

draft → trial → on_duty ⇄ suspended → retired. Going on duty (上岗) requires every evaluation case
of the employee's scenarios to pass offline: an employee whose work cannot be checked does not go
on duty.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.employees.definition import EmployeeDefinition, builtin_definitions
from shuzhi.employees.skills import Level, get_skill
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.platform.audit import audit
from shuzhi.scenarios import Catalogue, evaluate, load_catalogue
from shuzhi.scenarios.evaluation import EvalReport
from shuzhi.scenarios.loader import scenario_from_data
from shuzhi.storage.models import (
    Department,
    Employee,
    EmployeeVersion,
    KnowledgeBase,
    Scenario,
)

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


def catalogue_for(session: Session) -> Catalogue:
    """The shipped scenarios plus those installed from packs, read in ``session``'s transaction."""
    rows = session.scalars(select(Scenario).where(Scenario.source != "builtin")).all()
    installed = [
        scenario_from_data(yaml.safe_load(r.definition["yaml"]), None, f"已安装场景 {r.slug}")
        for r in rows
    ]
    return load_catalogue().merged(installed, "pack") if installed else load_catalogue()


def _reference_problems(definition: EmployeeDefinition, catalogue: Catalogue) -> list[str]:
    problems = []
    ceiling = Level.ceiling(definition.audience)
    for i, name in enumerate(definition.skills):
        try:
            level = get_skill(name).level
        except InvalidInput:
            problems.append(f"字段 skills.{i}：没有名为 {name} 的技能")
            continue
        if level > ceiling:
            problems.append(
                f"字段 skills.{i}：技能 {name} 的权限级别（{level.name.lower()}）高于"
                f"服务对象 {definition.audience} 允许的上限（{ceiling.name.lower()}）"
            )
    for i, scenario_id in enumerate(definition.scenarios):
        if scenario_id not in catalogue.scenarios:
            problems.append(f"字段 scenarios.{i}：没有场景 {scenario_id}")
    if definition.answer_scenario and definition.answer_scenario not in catalogue.scenarios:
        problems.append(f"字段 answer_scenario：没有场景 {definition.answer_scenario}")
    words = definition.guardrails.sensitive_words_file
    if words and not Path(words).is_file():
        problems.append(f"字段 guardrails.sensitive_words_file：找不到文件 {words}")
    return problems


def _check_references(session: Session, definition: EmployeeDefinition) -> Catalogue:
    catalogue = catalogue_for(session)
    problems = _reference_problems(definition, catalogue)
    if problems:
        raise InvalidInput(
            f"员工定义 {definition.id} 引用有误：\n" + "\n".join(problems),
            hint="技能见 `shuzhi employees skills`，场景见 `shuzhi scenarios list`",
            problems=problems,
        )
    return catalogue


def server_side_parts(
    definition: EmployeeDefinition, *, can_manage_models: bool
) -> list[tuple[tuple[str | int, ...], str]]:
    """Parts of a definition that only a file installed by the system administrator may hold.

    A definition sent over the console or the API may not make the server run a program (an MCP
    ``command``) or read one of its files (``sensitive_words_file``); connecting an employee to an
    outside tool server (an MCP ``url``) is the model-base administrator's call. Returns each
    offending field's path and a message for the clerk.
    """
    found: list[tuple[tuple[str | int, ...], str]] = []
    for i, server in enumerate(definition.mcp_servers):
        if server.command is not None:
            message = (
                "不能通过控制台或接口定义在服务器上运行程序的 MCP 服务（command）；"
                "请系统管理员以文件安装"
            )
            found.append((("mcp_servers", i, "command"), message))
        elif not can_manage_models:
            found.append((("mcp_servers", i, "url"), "连接外部 MCP 服务须由系统管理员定义"))
    if definition.guardrails.sensitive_words_file:
        message = "不能引用服务器上的文件；请把敏感词写在 sensitive_words 列表中"
        found.append((("guardrails", "sensitive_words_file"), message))
    return found


def knowledge_problems(session: Session, definition: EmployeeDefinition) -> list[tuple[int, str]]:
    """The knowledge bases a definition may not name: each one's index and a message for the clerk.

    A base must exist and be public or belong to the employee's own department; an employee
    answering from another department's internal base would show its content to whoever talks
    to it.
    """
    code = definition.department.code
    dept = session.scalar(select(Department.id).where(Department.code == code))
    found = []
    for i, name in enumerate(definition.knowledge_bases):
        kb = session.scalar(select(KnowledgeBase).where(KnowledgeBase.name == name))
        if kb is None:
            found.append((i, f"没有名为“{name}”的知识库；请先在“知识库”页面建好"))
        elif kb.grade != "public" and kb.department_id not in (None, dept):
            found.append((i, f"知识库“{name}”属于其他部门且不公开，本部门员工不能使用"))
    return found


def apply_definition(session: Session, definition: EmployeeDefinition, actor: str) -> Employee:
    """Create the employee, or add a version when the definition changed. Returns the row.

    An employee on duty whose new version fails its evaluation goes back to trial (audited):
    a changed employee is checked again before it serves anyone.
    """
    catalogue = _check_references(session, definition)
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
    if row.status == "on_duty" and not duty_gate(definition, catalogue).ok:
        _back_to_trial(session, row, actor)
    return row


def _back_to_trial(session: Session, row: Employee, actor: str) -> None:
    reason = f"第 {row.current_version} 版定义的场景评测未通过，退回试用"
    audit(
        session,
        "employee.lifecycle",
        actor=actor,
        target=f"employee:{row.slug}",
        department_id=row.department_id,
        **{"from": row.status, "to": "trial", "reason": reason},
    )
    row.status = "trial"


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


def duty_gate(definition: EmployeeDefinition, catalogue: Catalogue | None = None) -> EvalReport:
    """The evaluation that decides whether the employee may go on duty."""
    catalogue = catalogue or load_catalogue()
    ids = set(definition.scenarios) | {s.id for s in catalogue.for_employee(definition.id)}
    return evaluate(sorted(ids), catalogue=catalogue)


def transition(
    session: Session,
    slug: str,
    target: str,
    actor: str,
    reason: str = "",
    *,
    source_ip: str | None = None,
) -> Employee:
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
        report = duty_gate(loaded.definition, catalogue_for(session))
        detail["evaluation"] = f"{report.cases_passed}/{report.cases_total}"
        if not report.ok:
            audit(
                session,
                "employee.lifecycle",
                actor=actor,
                target=f"employee:{slug}",
                outcome="refused",
                department_id=row.department_id,
                source_ip=source_ip,
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
        source_ip=source_ip,
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


@dataclass
class Seeded:
    """A knowledge base ``seed_knowledge`` made, and how many law files went into it."""

    name: str
    grade: str
    imported: int


def seed_knowledge(knowledge: Any, laws_dir: Path | None) -> list[Seeded]:
    """Create the knowledge bases the shipped employees name (``data/knowledge_seeds.yaml``) when
    they are missing, and fill them from the law corpus at ``laws_dir`` when it is given."""
    text = (
        resources.files("shuzhi.employees").joinpath("data/knowledge_seeds.yaml").read_text("utf-8")
    )
    seeds: dict[str, dict[str, Any]] = yaml.safe_load(text) or {}
    existing = {kb.name for kb, _, _ in knowledge.list_bases()}
    made = []
    for name, seed in seeds.items():
        if name in existing:
            continue
        knowledge.create(name, grade=seed["grade"], description=seed.get("description", ""))
        paths = [laws_dir / p for p in seed.get("laws", [])] if laws_dir else []
        present = [p for p in paths if p.is_file()]
        report = knowledge.import_paths(name, present) if present else None
        made.append(Seeded(name, seed["grade"], report.added if report else 0))
    return made


def install_builtin(session: Session, actor: str = "system") -> list[Employee]:
    """Define the shipped employees; put new ones on duty when their evaluation passes."""
    rows = []
    for definition in builtin_definitions():
        row = apply_definition(session, definition, actor)
        if row.status == "draft":
            transition(session, row.slug, "trial", actor, "随软件发布的预置员工")
            if duty_gate(definition, catalogue_for(session)).ok:
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
