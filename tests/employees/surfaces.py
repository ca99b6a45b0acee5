"""Builders shared by the tests of the employees' surfaces (CLI, /api, /v1)."""

from __future__ import annotations

from pathlib import Path

from shuzhi.config import Settings
from shuzhi.employees import builtin_definitions, service
from shuzhi.gateway.registry import AliasSpec, EndpointSpec, add_endpoint, set_alias
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.knowledge import KnowledgeService
from shuzhi.platform.identity import create_api_key, create_user
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database

PENSION_LAW = (
    "# 社会保险法\n\n<!-- INFO END -->\n\n第十六条 参加基本养老保险的个人，达到法定退休年龄时"
    "累计缴费满十五年的，按月领取基本养老金。\n"
)
QUESTION = "养老保险交满多少年能领养老金？"
SOCIAL = "social-insurance-clerk"


def seed(db: Database, settings: Settings, *slugs: str) -> dict[str, int]:
    """The shipped employees named, on duty, and the social-insurance law base.

    Returns each employee's department id.
    """
    knowledge = KnowledgeService(db, settings)
    knowledge.create("社会保险法规", grade="public")
    knowledge.import_upload("社会保险法规", "社会保险法.md", PENSION_LAW.encode())
    wanted = {d.id: d for d in builtin_definitions() if d.id in slugs}
    departments = {}
    with db.session() as session:
        for slug in slugs:
            row = service.apply_definition(session, wanted[slug], "test")
            service.transition(session, slug, "trial", "test", "测试")
            service.transition(session, slug, "on_duty", "test", "测试")
            assert row.department_id is not None
            departments[slug] = row.department_id
    return departments


def api_key(db: Database, username: str, role: Role, department_id: int | None) -> str:
    with db.session() as session:
        holder = create_user(session, username, None, [(role, department_id)], username)
        return create_api_key(session, f"{username}-key", holder.id)[1]


def add_model(db: Database, settings: Settings, server: ScriptedModelServer) -> None:
    """The scripted server as the default chat model."""
    spec = EndpointSpec(name="city-v3", base_url=server.base_url, model="deepseek-chat",
                        trust_zone="inside")  # fmt: skip
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
        set_alias(session, AliasSpec(name="gov-chat", endpoints=["city-v3"], is_default=True),
                  actor="test")  # fmt: skip


def definition_yaml(slug: str, department: str = "hrss", **changes: str) -> str:
    """A small valid definition of a new employee (with no scenarios of its own)."""
    fields = {
        "id": slug,
        "name": "养老金计算助手",
        "department": f"{{code: {department}, name: 人力资源和社会保障局}}",
        "role": "估算养老金，解释计发办法。",
        "greeting": "您好，我来帮您估算养老金。",
        "skills": "[pension_estimate, handoff]",
        "knowledge_bases": "[社会保险法规]",
        **changes,
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
