"""The console's employee editor applies the same knowledge-base rule as ``/api/employees``."""

from __future__ import annotations

from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, Employee, KnowledgeBase
from tests.console.test_definitions import GOOD, _client, _problems, _seed


def _base(db: Database, name: str, code: str, grade: str) -> None:
    with db.session() as session:
        dept = session.scalar(select(Department.id).where(Department.code == code))
        session.add(KnowledgeBase(name=name, department_id=dept, grade=grade))


def test_the_editor_refuses_another_departments_internal_base(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    _base(db, "人社内部口径", "rsj", "internal")
    _base(db, "人社公开政策", "rsj", "public")
    _base(db, "城管内部口径", "cg", "internal")
    text = GOOD + "knowledge_bases: [人社内部口径, 人社公开政策, 城管内部口径, 没有的库]\n"
    boss, headers = _client(settings, db, "boss")

    response = boss.post("/console/employees/definition", data={"text": text}, headers=headers)

    assert response.status_code == 422
    assert _problems(response.text) == [("7", "knowledge_bases.0"), ("7", "knowledge_bases.3")]
    assert "知识库“人社内部口径”属于其他部门且不公开，本部门员工不能使用" in response.text
    assert "没有名为“没有的库”的知识库" in response.text
    with db.session() as session:
        assert session.scalar(select(Employee).where(Employee.slug == "permit-helper")) is None

    allowed = text.replace("人社内部口径, ", "").replace(", 没有的库", "")
    saved = boss.post("/console/employees/definition", data={"text": allowed}, headers=headers)
    assert saved.status_code == 200, saved.text
