"""Skills: typed functions an employee may call, each with a permission level.

A skill's arguments are a pydantic model, so the model sees a JSON schema and a bad call becomes a
clear message it can act on. Two rules make skills safe against prompt injection:

- an employee can only call the skills its definition lists, and never one whose level is above
  what its audience allows, whatever the model or the citizen asks;
- anything about "the citizen's own records" is bound from the conversation's authenticated
  identity (``SkillContext.citizen_ref``), never from arguments the model supplies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, PermissionDenied
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)


class Level(IntEnum):
    """How much a skill may touch. Citizen-facing employees stop at CITIZEN_OWN."""

    PUBLIC = 0  # public information and pure computation
    CITIZEN_OWN = 1  # the authenticated citizen's own records only
    STAFF = 2  # department data, for staff-facing employees
    PRIVILEGED = 3  # other people's records; never callable by a model

    @classmethod
    def ceiling(cls, audience: str) -> Level:
        return cls.CITIZEN_OWN if audience == "citizen" else cls.STAFF


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


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    args: type[BaseModel]
    level: Level
    fn: Callable[[SkillContext, Any], dict[str, Any]]

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry."""
        params = self.args.model_json_schema()
        params.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": params},
        }


_REGISTRY: dict[str, Skill] = {}


def skill(
    name: str, description: str, args: type[BaseModel], level: Level = Level.PUBLIC
) -> Callable[[Callable[[SkillContext, Any], dict[str, Any]]], Skill]:
    def register(fn: Callable[[SkillContext, Any], dict[str, Any]]) -> Skill:
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


def allowed_skills(names: list[str], audience: str) -> list[Skill]:
    """The skills an employee may actually call: listed, and within its audience's ceiling."""
    ceiling = Level.ceiling(audience)
    return [s for s in (get_skill(n) for n in names) if s.level <= ceiling]


def invoke(
    ctx: SkillContext, allowed: list[Skill], name: str, raw_arguments: str | dict[str, Any]
) -> dict[str, Any]:
    """Run one tool call. Refusals and bad arguments come back as text the model can act on."""
    entry = next((s for s in allowed if s.name == name), None)
    if entry is None:
        log.warning(
            "employee %s was asked to call skill %s it may not use", ctx.employee_slug, name
        )
        return {"error": f"无权调用技能 {name}：该技能不在本员工的授权范围内"}
    try:
        data = json.loads(raw_arguments) if isinstance(raw_arguments, str) else raw_arguments
        args = entry.args.model_validate(data or {})
    except (json.JSONDecodeError, ValidationError) as exc:
        return {"error": f"技能 {name} 的参数有误：{exc}"}
    try:
        return entry.fn(ctx, args)
    except (InvalidInput, PermissionDenied) as exc:
        return {"error": exc.message}


def _load_builtins() -> None:
    from shuzhi.employees import builtin_skills  # noqa: F401  (registers on import)
