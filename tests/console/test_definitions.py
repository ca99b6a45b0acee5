"""Defining a digital employee from the console's YAML editor: problems by field and line,
department scope, what the console refuses, and versions."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Employee, EmployeeVersion
from tests.console.test_pages import _signed_in
from tests.platform.helpers import department, user

GOOD = """\
id: permit-helper
name: 占道审批咨询
department: {code: cg, name: 城管局}
role: 解答占道经营、户外广告设置的审批问题，依据《城市市容和环境卫生管理条例》作答并注明条款。
skills: [knowledge_search, handoff]
examples: [门口摆摊要审批吗]
"""

# Line 1: id breaks the pattern; line 4: an unknown field; line 5: an unknown skill;
# "role" is missing altogether (reported at the top of the document).
BAD = """\
id: Permit Helper
name: 占道审批咨询
department: {code: cg, name: 城管局}
rol: 拼错的字段
skills: [knowledge_search, fly_to_moon]
"""


def _client(settings: Settings, db: Database, username: str) -> tuple[TestClient, dict[str, str]]:
    client, csrf = _signed_in(settings, db, username)
    return client, {"X-CSRF-Token": csrf, "HX-Request": "true"}


def _seed(db: Database) -> None:
    with db.session() as session:
        cg = department(session, "cg", "城管局")
        department(session, "rsj", "人社局")
        user(session, "boss", (Role.DEPARTMENT_ADMIN, cg.id))
        user(session, "root", (Role.SYSTEM_ADMIN, None))
        user(session, "rev", (Role.REVIEWER, cg.id))


def _problems(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<li data-line="(\d*)" data-field="([^"]+)"', html)


def test_a_new_employee_is_saved_as_a_draft_and_versioned(settings: Settings, db: Database) -> None:
    _seed(db)
    client, headers = _client(settings, db, "boss")
    editor = client.get("/console/employees/new")
    assert editor.status_code == 200 and "code: cg" in editor.text, "prefilled with own dept"

    checked = client.post("/console/employees/definition/check", data={"text": GOOD},
                          headers=headers)  # fmt: skip
    assert checked.status_code == 200 and 'id="definition-valid"' in checked.text
    with db.session() as session:
        assert session.scalar(select(Employee).where(Employee.slug == "permit-helper")) is None

    saved = client.post("/console/employees/definition", data={"text": GOOD}, headers=headers)
    assert saved.status_code == 200 and "草稿" in saved.text
    again = client.post("/console/employees/definition", data={"text": GOOD}, headers=headers)
    assert "未新增版本" in again.text
    changed = GOOD.replace("门口摆摊要审批吗", "店外摆放要审批吗")
    second = client.post("/console/employees/definition", data={"text": changed}, headers=headers)
    assert "第 2 版" in second.text

    with db.session() as session:
        row = session.scalar(select(Employee).where(Employee.slug == "permit-helper"))
        assert row is not None and row.status == "draft" and row.current_version == 2
        versions = session.scalars(
            select(EmployeeVersion.created_by).where(EmployeeVersion.employee_id == row.id)
        ).all()
        assert versions == ["boss", "boss"]
        audited = session.scalars(
            select(AuditRecord.actor).where(AuditRecord.action == "employee.define")
        ).all()
        assert audited == ["boss", "boss"]
    edit = client.get("/console/employees/permit-helper/definition")
    assert edit.status_code == 200 and "店外摆放要审批吗" in edit.text


def test_problems_name_the_field_and_the_line(settings: Settings, db: Database) -> None:
    _seed(db)
    client, headers = _client(settings, db, "boss")
    response = client.post("/console/employees/definition", data={"text": BAD}, headers=headers)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#definition-result"
    problems = set(_problems(response.text))
    assert ("1", "id") in problems
    assert ("4", "rol") in problems and "不认识的字段" in response.text
    assert ("1", "role") in problems and "缺少必填字段" in response.text
    with db.session() as session:
        assert session.scalar(select(Employee).where(Employee.name == "占道审批咨询")) is None

    unknown_skill = GOOD.replace("handoff]", "fly_to_moon]")
    skill = client.post("/console/employees/definition/check", data={"text": unknown_skill},
                        headers=headers)  # fmt: skip
    assert _problems(skill.text) == [("5", "skills.1")] and "fly_to_moon" in skill.text

    unclosed = GOOD.replace("skills: [", "skills: [[")
    broken = client.post("/console/employees/definition/check", data={"text": unclosed},
                         headers=headers)  # fmt: skip
    assert broken.status_code == 422 and "YAML 格式错误" in broken.text
    assert re.search(r'data-line="\d+" data-field="（YAML 格式）"', broken.text)
    assert "expected" not in broken.text and "flow sequence" not in broken.text, "PyYAML's words"


def test_departments_bound_what_may_be_defined(settings: Settings, db: Database) -> None:
    _seed(db)
    boss, headers = _client(settings, db, "boss")
    other = GOOD.replace("{code: cg, name: 城管局}", "{code: rsj, name: 人社局}")
    refused = boss.post("/console/employees/definition", data={"text": other}, headers=headers)
    assert ("3", "department.code") in _problems(refused.text) and "其他部门" in refused.text
    new_dept = GOOD.replace("{code: cg, name: 城管局}", "{code: zjj, name: 住建局}")
    refused = boss.post("/console/employees/definition", data={"text": new_dept}, headers=headers)
    assert ("3", "department.code") in _problems(refused.text) and "不存在" in refused.text

    root, root_headers = _client(settings, db, "root")
    created = root.post("/console/employees/definition", data={"text": new_dept},
                        headers=root_headers)  # fmt: skip
    assert created.status_code == 200, created.text
    # The employee now belongs to 住建局: the 城管局 admin can neither open nor take it over.
    assert boss.get("/console/employees/permit-helper/definition").status_code == 404
    takeover = boss.post("/console/employees/definition", data={"text": GOOD}, headers=headers)
    assert ("1", "id") in _problems(takeover.text)

    reviewer, _ = _client(settings, db, "rev")
    assert reviewer.get("/console/employees/new").status_code == 403
    assert 'id="employee-new"' not in reviewer.get("/console/employees").text


def test_the_console_never_makes_the_server_run_or_read_things(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    stdio = GOOD + "mcp_servers:\n  - name: files\n    command: [cat, /etc/passwd]\n"
    words = GOOD + "guardrails:\n  sensitive_words_file: /etc/shadow\n"
    remote = GOOD + "mcp_servers:\n  - name: remote\n    url: http://10.0.0.8/mcp\n"
    boss, headers = _client(settings, db, "boss")
    for text, field, line in [
        (stdio, "mcp_servers.0.command", "9"),
        (words, "guardrails.sensitive_words_file", "8"),
        (remote, "mcp_servers.0.url", "9"),
    ]:
        response = boss.post("/console/employees/definition", data={"text": text}, headers=headers)
        assert response.status_code == 422 and (line, field) in _problems(response.text), field
    root, root_headers = _client(settings, db, "root")
    by_admin = root.post("/console/employees/definition/check", data={"text": remote},
                         headers=root_headers)  # fmt: skip
    assert by_admin.status_code == 200, "the system admin may connect an outside tool server"
    with db.session() as session:
        assert session.scalar(select(Employee).where(Employee.slug == "permit-helper")) is None
