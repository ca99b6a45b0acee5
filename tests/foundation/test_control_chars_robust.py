"""Control characters in names are refused at every edge with a Chinese message naming the field.

PostgreSQL cannot store NUL in text at all, and SQLite stores it silently: either way the name
is not what the clerk meant. Free text (descriptions, reasons) keeps tabs and line breaks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, Employee, KnowledgeBase, User
from shuzhi.validation import control_problem
from tests.clirun import run_cli
from tests.employees.surfaces import definition_yaml
from tests.platform.helpers import department, user


def _root(settings: Settings, db: Database) -> tuple[TestClient, dict[str, str]]:
    with db.session() as session:
        department(session, "hrss", "人力资源和社会保障局")
        root = user(session, "root", (Role.SYSTEM_ADMIN, None))
        key = create_api_key(session, "root", root.id)[1]
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {key}"}


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_problem_names_the_character_and_its_place() -> None:
    assert control_problem("社保\x00库") == "不能含控制字符（第 3 个字符是 U+0000），请删去后重试"
    assert control_problem("a\x1bb") is not None and control_problem("a\tb") is not None
    assert control_problem("第一行\n第二行\t注", multiline=True) is None
    assert control_problem("a\x7f", multiline=True) is not None
    assert control_problem("城管局 · 执法大队（二）") is None


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/kb", {"name": "社保\x00库"}, "name"),
        ("/api/kb", {"name": "社保库", "description": "说明\x00"}, "description"),
        ("/api/departments", {"code": "zjj", "name": "住建\x00局"}, "name"),
        ("/api/departments", {"code": "z\x1bj", "name": "住建局"}, "code"),
        ("/api/users", {"username": "li\x00"}, "username"),
        ("/api/users", {"username": "li", "display_name": "李\x07四"}, "display_name"),
        ("/api/keys", {"name": "key\x00"}, "name"),
    ],
)
def test_the_api_refuses_control_characters_in_names(
    settings: Settings, db: Database, url: str, body: dict[str, str], field: str
) -> None:
    client, headers = _root(settings, db)
    before = [_count(db, m) for m in (KnowledgeBase, Department, User)]

    response = client.post(url, json=body, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert f"{field}: 不能含控制字符" in error["message"]
    assert [p["field"] for p in error["detail"]] == [field]
    assert [_count(db, m) for m in (KnowledgeBase, Department, User)] == before


def test_free_text_keeps_its_line_breaks(settings: Settings, db: Database) -> None:
    client, headers = _root(settings, db)
    made = client.post(
        "/api/kb", json={"name": "社保库", "description": "第一行\n第二行\t备注"}, headers=headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["description"] == "第一行\n第二行\t备注"


def test_an_employee_definition_with_a_control_character_is_refused(
    settings: Settings, db: Database
) -> None:
    client, headers = _root(settings, db)
    as_yaml = definition_yaml("pension-helper", name='"养老金\\0助手"', knowledge_bases="[]")
    as_json = {
        "id": "pension-helper",
        "name": "养老金助手",
        "department": {"code": "hrss", "name": "人社\x00局"},
        "role": "估算养老金。\n解释计发办法。",
    }

    by_yaml = client.post("/api/employees", json={"yaml": as_yaml}, headers=headers)
    by_json = client.post("/api/employees", json={"definition": as_json}, headers=headers)

    assert by_yaml.status_code == 422, by_yaml.text
    assert by_yaml.json()["error"]["detail"]["fields"][0]["field"] == "name"
    assert "不能含控制字符" in by_yaml.json()["error"]["message"]
    assert by_json.status_code == 422, by_json.text
    assert by_json.json()["error"]["detail"]["fields"][0]["field"] == "department.name"
    assert _count(db, Employee) == 0


def test_a_lookup_with_nul_is_a_clear_refusal(settings: Settings, db: Database) -> None:
    client, headers = _root(settings, db)
    response = client.get("/api/employees/a%00b", headers=headers)
    if db.dialect == "postgresql":
        assert response.status_code == 422
        assert "NUL" in response.json()["error"]["message"]
    else:
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("kb", "create", "社保\x00库"), "知识库名称不能含控制字符（第 3 个字符是 U+0000）"),
        (("kb", "create", "社保库", "--description", "a\x00"), "说明不能含控制字符"),
        (("departments", "create", "zjj", "住建\x1b局"), "部门名称不能含控制字符"),
        (("users", "create", "li\x00"), "用户名不能含控制字符"),
        (("users", "create", "li", "--name", "李\x00"), "姓名不能含控制字符"),
        # Look-alike names: invisible and direction characters, or only white space.
        (
            ("users", "create", "\u202ecli"),
            "用户名不能含不可见字符（第 1 个字符是 U+202E 从右到左覆盖）",
        ),
        (("users", "create", "  "), "用户名不能只含空白字符"),
        (("departments", "create", "zjj", "住\u200b建局"), "部门名称不能含不可见字符"),
        (("kb", "create", "\ufeff社保库"), "知识库名称不能含不可见字符（第 1 个字符是 U+FEFF"),
    ],
)
def test_the_cli_refuses_control_characters_in_names(
    env: dict[str, str],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    result = run_cli(monkeypatch, capsys, *args)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert [_count(db, m) for m in (KnowledgeBase, Department, User)] == [0, 0, 0]


def test_the_cli_refuses_a_definition_file_with_a_control_character(
    env: dict[str, str],
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "clerk.yaml"
    path.write_text(definition_yaml("pension-helper", greeting='"您好\\x00"'), encoding="utf-8")

    result = run_cli(monkeypatch, capsys, "employees", "apply", str(path))

    assert result.returncode == 2, result.stderr
    assert "字段 greeting：不能含控制字符" in result.stderr
    assert _count(db, Employee) == 0
