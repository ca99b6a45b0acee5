"""Skills: typed functions an employee may call, each with a permission level.

A built-in skill's arguments are a pydantic model, so the model sees a JSON schema and a bad call
becomes a clear message it can act on; a skill from an MCP server brings its own JSON schema and
is checked by that server. Two rules make skills safe against prompt injection:

- an employee can only call the skills its definition lists, and never one whose level is above
  what its audience allows, whatever the model or the citizen asks;
- anything about "the citizen's own records" is bound from the conversation's authenticated
  identity (``SkillContext.citizen_ref``), never from arguments the model supplies.

Every call, allowed or refused, leaves one audit record (skill name and outcome, never the
arguments, which may hold personal data).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, PermissionDenied, ShuzhiError
from shuzhi.platform.audit import audit
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)

AUDIENCE_GRADES = {"citizen": ("public",), "staff": ("public", "internal")}

SkillFn = Callable[["SkillContext", Any], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class Level(IntEnum):
    """How much a skill may touch. Citizen-facing employees stop at CITIZEN_OWN."""

    PUBLIC = 0  # public information and pure computation
    CITIZEN_OWN = 1  # the authenticated citizen's own records only
    STAFF = 2  # department data, for staff-facing employees
    PRIVILEGED = 3  # other people's records; never callable by a model

    @classmethod
    def ceiling(cls, audience: str) -> Level:
        return cls.CITIZEN_OWN if audience == "citizen" else cls.STAFF

    @classmethod
    def parse(cls, name: str) -> Level:
        try:
            return cls[name.upper()]
        except KeyError:
            choices = "、".join(level.name.lower() for level in cls)
            raise InvalidInput(f"未知的技能权限级别 {name}", hint=f"可选：{choices}") from None


@dataclass
class SkillContext:
    """What a skill may use. ``citizen_ref`` comes from authentication, never from the model."""

    db: Database
    settings: Settings
    session: Session
    employee_slug: str
    department_id: int | None
    conversation_id: int
    knowledge_bases: list[str]
    citizen_ref: str | None = None
    knowledge: Any = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    handed_off: int | None = None
    handoff_hours: int = 4
    audience: str = "citizen"

    def search(self, query: str, k: int, bases: list[str] | None = None) -> list[Any]:
        """Passages from the employee's knowledge bases that its audience may read.

        Data Security Law Art. 21: access follows the grade. A citizen-facing employee reads only
        public bases, a staff-facing one public and internal ones; restricted bases are read by
        named people holding ``kb.read_restricted``, never through an employee. A base the
        definition names but may not read is left out (logged), not an error for the citizen.
        """
        if self.knowledge is None:
            return []
        names = self.knowledge_bases if bases is None else bases
        readable = [name for name in names if self._may_read(name)]
        return list(self.knowledge.search(readable, query, k=k)) if readable else []

    def missing_citation(self, query: str) -> str | None:
        """What the employee's readable bases lack that ``query`` cites (a text, an article past
        a text's end), or None; see KnowledgeService.missing_citation."""
        if self.knowledge is None:
            return None
        readable = [name for name in self.knowledge_bases if self._may_read(name)]
        return self.knowledge.missing_citation(readable, query) if readable else None

    def graded_knowledge(self) -> GradedKnowledge:
        """The knowledge search a scenario run on this employee's behalf may use."""
        return GradedKnowledge(self)

    def _may_read(self, name: str) -> bool:
        departments = None if self.department_id is None else [self.department_id]
        try:
            self.knowledge.readable([name], AUDIENCE_GRADES[self.audience], departments)
        except ShuzhiError as exc:
            log.warning(
                "employee %s skips knowledge base %s: %s", self.employee_slug, name, exc.code
            )
            return False
        return True


@dataclass(frozen=True)
class GradedKnowledge:
    """``shuzhi.scenarios``' knowledge seam, limited to the grades the employee's audience reads."""

    ctx: SkillContext

    def search(self, kbs: list[str], query: str, k: int) -> list[Any]:
        return self.ctx.search(query, k, kbs)


@dataclass(frozen=True)
class Skill:
    """One callable skill. ``args`` validates built-in arguments; ``parameters`` is the JSON
    schema of a skill that validates its own (an MCP tool). ``fn`` may be sync or async."""

    name: str
    description: str
    args: type[BaseModel] | None
    level: Level
    fn: SkillFn
    parameters: dict[str, Any] | None = None
    source: str = "builtin"

    @property
    def wire_name(self) -> str:
        """The function name the model sees: OpenAI names allow only ``[A-Za-z0-9_-]``."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", self.name.replace(".", "__"))[:64]

    def json_schema(self) -> dict[str, Any]:
        if self.parameters is not None:
            return dict(self.parameters)
        assert self.args is not None
        params = self.args.model_json_schema()
        params.pop("title", None)
        return params

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry."""
        function = {
            "name": self.wire_name,
            "description": self.description,
            "parameters": self.json_schema(),
        }
        return {"type": "function", "function": function}

    def parse(self, data: dict[str, Any]) -> Any:
        return self.args.model_validate(data) if self.args is not None else data


_REGISTRY: dict[str, Skill] = {}


def skill(
    name: str, description: str, args: type[BaseModel], level: Level = Level.PUBLIC
) -> Callable[[SkillFn], Skill]:
    def register(fn: SkillFn) -> Skill:
        entry = Skill(name, description, args, level, fn)
        _REGISTRY[name] = entry
        return entry

    return register


def get_skill(name: str) -> Skill:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = "、".join(sorted(_REGISTRY))
        raise InvalidInput(f"没有名为 {name} 的技能", hint=f"可用技能：{known}") from None


def all_skills() -> list[Skill]:
    _load_builtins()
    return sorted(_REGISTRY.values(), key=lambda s: s.name)


def within_ceiling(skills: list[Skill], audience: str) -> list[Skill]:
    ceiling = Level.ceiling(audience)
    return [s for s in skills if s.level <= ceiling]


def allowed_skills(names: list[str], audience: str) -> list[Skill]:
    """The skills an employee may actually call: listed, and within its audience's ceiling."""
    return within_ceiling([get_skill(n) for n in names], audience)


def _find(allowed: list[Skill], name: str) -> Skill | None:
    return next((s for s in allowed if name in (s.name, s.wire_name)), None)


def _arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    data = json.loads(raw) if isinstance(raw, str) and raw.strip() else raw
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("参数应是一个 JSON 对象")
    return data


async def ainvoke(
    ctx: SkillContext, allowed: list[Skill], name: str, raw_arguments: str | dict[str, Any] | None
) -> dict[str, Any]:
    """Run one tool call. Refusals and bad arguments come back as text the model can act on."""
    entry = _find(allowed, name)
    if entry is None:
        log.warning(
            "employee %s was asked to call skill %s it may not use", ctx.employee_slug, name
        )
        _audit(ctx, name[:80], "refused")
        return {"error": f"无权调用技能 {name}：该技能不在本员工的授权范围内"}
    try:
        args = entry.parse(_arguments(raw_arguments))
    except (json.JSONDecodeError, ValidationError, InvalidInput) as exc:
        _audit(ctx, entry.name, "bad_arguments")
        return {"error": f"技能 {entry.name} 的参数有误：{exc}"}
    try:
        output = entry.fn(ctx, args)
        result: dict[str, Any] = await output if inspect.isawaitable(output) else output
    except (InvalidInput, PermissionDenied) as exc:
        _audit(ctx, entry.name, "error")
        return {"error": exc.message}
    except ShuzhiError as exc:
        log.warning("skill %s failed for employee %s: %s", entry.name, ctx.employee_slug, exc.code)
        _audit(ctx, entry.name, "error")
        return {"error": f"技能 {entry.name} 暂时不可用：{exc.message}"}
    _audit(ctx, entry.name, "success")
    return result


def _audit(ctx: SkillContext, name: str, outcome: str) -> None:
    audit(
        ctx.session,
        "employee.skill",
        actor=ctx.employee_slug,
        actor_kind="ai",
        target=f"conversation:{ctx.conversation_id}",
        outcome=outcome,
        department_id=ctx.department_id,
        skill=name,
    )


def _load_builtins() -> None:
    from shuzhi.employees import builtin_skills  # noqa: F401  (registers on import)
