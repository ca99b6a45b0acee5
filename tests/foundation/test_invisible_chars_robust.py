"""Invisible and direction characters cannot make one name pass for another.

"ad<U+200B>min" shows as "admin"; "<U+202E>cli" shows reversed. Names refuse them (and names of
white space alone); free text refuses only the controls that reorder what the reader sees.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import ApiKey, Department, KnowledgeBase, User
from shuzhi.validation import control_problem
from tests.platform.helpers import department, user

_COUNTED = (KnowledgeBase, Department, User, ApiKey)


def _root(settings: Settings, db: Database) -> tuple[TestClient, dict[str, str]]:
    with db.session() as session:
        department(session, "hrss", "人力资源和社会保障局")
        root = user(session, "root", (Role.SYSTEM_ADMIN, None))
        key = create_api_key(session, "root", root.id)[1]
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {key}"}


def _counts(db: Database) -> list[int]:
    with db.session() as session:
        return [session.scalar(select(func.count()).select_from(m)) or 0 for m in _COUNTED]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ad\u200bmin", "第 3 个字符是 U+200B 零宽空格"),
        ("ad\u200dmin", "U+200D 零宽连接符"),
        ("\u200eroot", "第 1 个字符是 U+200E 从左到右标记"),
        ("\u200froot", "U+200F 从右到左标记"),
        ("\u202ecli", "U+202E 从右到左覆盖"),
        ("a\u2066b\u2069", "U+2066 从左到右隔离"),
        ("\ufeffadmin", "U+FEFF 字节顺序标记"),
        ("ad\u00admin", "U+00AD 软连字符"),
        ("ad\u2060min", "U+2060 词连接符"),
        ("a\U000e0041", "U+E0041 格式字符"),
        ("a\u2028b", "U+2028 行分隔符"),
        ("a\u2029b", "U+2029 段分隔符"),
    ],
)
def test_a_name_refuses_invisible_characters_naming_them(value: str, shown: str) -> None:
    problem = control_problem(value)

    assert problem is not None and problem.startswith("不能含不可见字符（")
    assert shown in problem and problem.endswith("），请删去后重试")


def test_a_name_refuses_c1_controls_and_white_space_alone() -> None:
    assert control_problem("a\x85b") == "不能含控制字符（第 2 个字符是 U+0085），请删去后重试"
    assert control_problem("\x9b") is not None
    for blank in (" ", "\u3000\u3000", " \t "[::2], "\u00a0"):
        assert control_problem(blank) == "不能只含空白字符，请填写实际内容"
    for fine in ("", "李 四", "城管局 · 执法大队（二）", "Zoë", "Ａ１"):
        assert control_problem(fine) is None


def test_free_text_refuses_only_what_reorders_or_controls() -> None:
    for refused in ("价格\u202e001", "a\u202ab", "a\u2067b", "a\x9fb", "a\x00b"):
        assert control_problem(refused, multiline=True) is not None, refused
    assert "U+202E 从右到左覆盖" in (control_problem("a\u202eb", multiline=True) or "")
    family = "👨\u200d👩\u200d👧"
    for kept in (family, "引用\u200f原文\u200e", "第一行\n第二行\u2028\t备注", "   ", "a\u00adb"):
        assert control_problem(kept, multiline=True) is None, kept


@pytest.mark.parametrize(
    ("url", "body", "field", "message"),
    [
        ("/api/users", {"username": "ad\u200bmin"}, "username", "U+200B 零宽空格"),
        ("/api/users", {"username": "   "}, "username", "不能只含空白字符"),
        ("/api/users", {"username": "li", "display_name": "\u202e四李"}, "display_name", "U+202E"),
        ("/api/departments", {"code": "zjj\ufeff", "name": "住建局"}, "code", "U+FEFF"),
        ("/api/departments", {"code": "zjj", "name": "住\u200d建局"}, "name", "U+200D"),
        ("/api/departments", {"code": "zjj", "name": "\u3000"}, "name", "不能只含空白字符"),
        ("/api/kb", {"name": "社保\u2060库"}, "name", "U+2060 词连接符"),
        ("/api/kb", {"name": "社保库", "description": "说明\u202e"}, "description", "U+202E"),
        ("/api/kb", {"name": "社保\x85库"}, "name", "不能含控制字符"),
        ("/api/keys", {"name": "key\u00ad"}, "name", "U+00AD 软连字符"),
    ],
)
def test_the_api_refuses_look_alike_names(
    settings: Settings, db: Database, url: str, body: dict[str, str], field: str, message: str
) -> None:
    client, headers = _root(settings, db)
    before = _counts(db)

    response = client.post(url, json=body, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert f"{field}: " in error["message"] and message in error["message"]
    assert [p["field"] for p in error["detail"]] == [field]
    assert _counts(db) == before


def test_free_text_with_an_emoji_sequence_is_kept(settings: Settings, db: Database) -> None:
    client, headers = _root(settings, db)
    text = "群众好评 👨\u200d👩\u200d👧\n第二行"

    made = client.post("/api/kb", json={"name": "社保库", "description": text}, headers=headers)

    assert made.status_code == 201, made.text
    assert made.json()["description"] == text
