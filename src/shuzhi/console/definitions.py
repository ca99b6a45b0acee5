"""Defining a digital employee from the console: a YAML text checked field by field.

Every problem names the field and the line of the YAML it is on, in Chinese, so a clerk can fix
the text without reading a traceback. What the console may define is narrower than what the
employees' own tooling installs: nothing that would run a program or read a file on the server.
The checks of the department follow ``/api/employees`` (a definition names its department by
code; only a holder of ``employee.write`` for every department may create a new one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.employees import service
from shuzhi.employees.definition import EmployeeDefinition
from shuzhi.errors import InvalidInput, pydantic_problem_zh, yaml_error_zh
from shuzhi.platform.identity import Principal
from shuzhi.scenarios.loader import line_of, parse_yaml
from shuzhi.storage.models import Department, Employee

WHOLE = "（整个定义）"


@dataclass(frozen=True)
class Problem:
    field: str
    line: int | None
    message: str


@dataclass(frozen=True)
class Checked:
    """A definition that passed every check, or the problems that stop it."""

    definition: EmployeeDefinition | None
    problems: list[Problem]
    existing: Employee | None = None


def check(session: Session, text: str, principal: Principal) -> Checked:
    """Parse, validate and check references and department scope; never raises for bad text."""
    parsed = _parse(text)
    if isinstance(parsed, Problem):
        return Checked(None, [parsed])
    data, node = parsed
    try:
        definition = EmployeeDefinition.model_validate(data)
    except ValidationError as exc:
        return Checked(None, [_problem(e, node) for e in exc.errors()])

    def at(*loc: str | int) -> int | None:
        return line_of(node, loc)

    existing = session.scalar(select(Employee).where(Employee.slug == definition.id))
    problems = [
        *_references(session, definition, at),
        *_server_side(definition, principal, at),
        *_scope(session, principal, definition, existing, at),
    ]
    return Checked(None if problems else definition, problems, existing)


def save(session: Session, checked: Checked, principal: Principal) -> tuple[Employee, bool, bool]:
    """Apply a definition that passed :func:`check`: returns the employee, whether it is new and
    whether the definition changed (saving the same text again adds no version)."""
    if checked.definition is None:
        raise InvalidInput("员工定义未通过校验，请先按提示修改", problems=checked.problems)
    before = checked.existing.current_version if checked.existing is not None else None
    row = service.apply_definition(session, checked.definition, principal.name)
    return row, before is None, row.current_version != before


def current_yaml(session: Session, slug: str) -> str:
    """The employee's current definition as YAML, without the fields left at their defaults."""
    loaded = service.load(session, slug)
    data = loaded.definition.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def template(department: Department | None) -> str:
    """A starting text for a new employee, with the principal's department filled in."""
    code, name = (department.code, department.name) if department else ("填写部门编码", "部门名称")
    return TEMPLATE.format(code=code, name=name)


TEMPLATE = """\
# 新数智员工的定义（YAML）。带 * 的为必填项；保存后为“草稿”状态，
# 在“数智员工”页面经试用、评测通过后上岗。格式说明见 docs/employees.md。
id: new-clerk              # * 编号：小写字母开头，只用小写字母、数字和连字符
name: 政策咨询助手          # * 名称
department: {{code: {code}, name: {name}}}   # * 所属部门
role: >-                   # * 职责说明，进入系统提示词
  解答群众关于本部门办事和政策的问题，依据知识库中的法规和办事指南作答并注明出处；
  涉及个人权益认定的事项只做政策解释，由工作人员办理。
greeting: 您好，请问有什么可以帮您？
audience: citizen          # citizen 面向群众；staff 面向工作人员
skills: [knowledge_search, handoff]
knowledge_bases: []        # 知识库名称，须已在“知识库”页面建好
examples:                  # 典型诉求，用于前台分派
  - 怎么办理
guardrails:
  out_of_scope: [股票, 彩票]
"""


# -- parsing and validation ---------------------------------------------------------------------


def _parse(text: str) -> tuple[dict[str, Any], Any] | Problem:
    if not text.strip():
        return Problem(WHOLE, None, "定义为空，请填写 YAML 内容")
    try:
        data, node = parse_yaml(text, "YAML")
    except InvalidInput as exc:
        cause = exc.__cause__
        mark = getattr(cause, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = yaml_error_zh(cause) if isinstance(cause, Exception) else exc.message
        return Problem("（YAML 格式）", line, f"YAML 格式错误：{problem}")
    if not isinstance(data, dict):
        return Problem(WHOLE, 1, "员工定义应是“字段: 值”形式的键值映射")
    return data, node


def _problem(error: ErrorDetails, node: Any) -> Problem:
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or WHOLE
    message = _RULES.get(field) if error["type"] == "string_pattern_mismatch" else None
    return Problem(field, line_of(node, loc), message or _message(error))


# What the patterns of EmployeeDefinition mean, in words a clerk reads.
_RULES = {
    "id": "编号须以小写字母开头，只用小写字母、数字和连字符（-），2 到 64 位，例如 permit-helper",
    "department.code": "部门编码须以小写字母开头，只用小写字母、数字、下划线和连字符，例如 cg",
    "audience": "只能是 citizen（面向群众）或 staff（面向工作人员）",
}


# Where a YAML author needs more than the shared wording (shuzhi.errors.pydantic_problem_zh).
_YAML_HINTS = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段（是否拼写有误？）",
    "list_type": "应为列表，例如 [a, b] 或每行一个“- 项”",
    "dict_type": "应为键值映射",
    "model_type": "应为键值映射（子字段缩进写在下面）",
}


def _message(error: ErrorDetails) -> str:
    return _YAML_HINTS.get(error["type"]) or pydantic_problem_zh(error)


# -- what the definition refers to ----------------------------------------------------------------


def _references(session: Session, definition: EmployeeDefinition, at: Any) -> list[Problem]:
    from shuzhi.employees.skills import get_skill
    from shuzhi.scenarios import load_catalogue

    problems = []
    for i, name in enumerate(definition.skills):
        try:
            get_skill(name)
        except InvalidInput as exc:
            problems.append(Problem(f"skills.{i}", at("skills", i), f"{exc.message}；{exc.hint}"))
    scenarios = load_catalogue().scenarios
    for i, name in enumerate(definition.scenarios):
        if name not in scenarios:
            hint = "在“场景目录”页面查看场景编号"
            problems.append(
                Problem(f"scenarios.{i}", at("scenarios", i), f"没有场景 {name}；{hint}")
            )
    if definition.answer_scenario and definition.answer_scenario not in scenarios:
        problems.append(Problem("answer_scenario", at("answer_scenario"),
                                f"没有场景 {definition.answer_scenario}"))  # fmt: skip
    for i, message in service.knowledge_problems(session, definition):
        problems.append(Problem(f"knowledge_bases.{i}", at("knowledge_bases", i), message))
    return problems


def _server_side(definition: EmployeeDefinition, principal: Principal, at: Any) -> list[Problem]:
    parts = service.server_side_parts(definition, can_manage_models=principal.can("model.manage"))
    return [Problem(".".join(str(p) for p in path), at(*path), message) for path, message in parts]


def _scope(
    session: Session,
    principal: Principal,
    definition: EmployeeDefinition,
    existing: Employee | None,
    at: Any,
) -> list[Problem]:
    code = definition.department.code
    dept = session.scalar(select(Department).where(Department.code == code))
    where = ("department.code", at("department", "code"))
    if dept is None and principal.visible_departments("employee.write") is not None:
        return [Problem(*where, f"部门 {code} 不存在；请填写本部门的编码，新部门由系统管理员建立")]
    if dept is not None and not principal.can("employee.write", dept.id):
        return [Problem(*where, f"不能为其他部门（{dept.name}）定义数智员工")]
    if existing is not None and not principal.can("employee.write", existing.department_id):
        return [
            Problem("id", at("id"), f"编号 {existing.slug} 已被其他部门的数智员工使用，请换一个")
        ]
    return []
