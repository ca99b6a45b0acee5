"""Knowledge bases over HTTP and from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord
from tests.platform.helpers import department, user

from .conftest import NATIONAL


def _headers(db: Database) -> tuple[dict[str, str], dict[str, str], int]:
    with db.session() as session:
        social = department(session, "rsj", "人社局")
        other = department(session, "cgj", "城管局")
        operator = user(session, "op", (Role.OPERATOR, social.id))
        viewer = user(session, "viewer", (Role.VIEWER, other.id))
        op_key = create_api_key(session, "op", operator.id)[1]
        viewer_key = create_api_key(session, "viewer", viewer.id)[1]
    bearer = "Bearer {}".format
    return {"Authorization": bearer(op_key)}, {"Authorization": bearer(viewer_key)}, social.id


def test_http_create_upload_search_ask(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    op, viewer, social = _headers(db)

    made = client.post("/api/kb", json={"name": "社保库", "department_id": social}, headers=op)
    assert made.status_code == 201, made.text
    upload = client.post(
        "/api/kb/社保库/documents",
        files={"file": ("示范劳动保障法(2020-01-01).md", NATIONAL.encode(), "text/markdown")},
        headers=op,
    )
    assert upload.status_code == 200 and upload.json()["added"] == 1

    found = client.get("/api/kb/社保库/search", params={"q": "工伤认定多久作出决定"}, headers=op)
    assert found.status_code == 200
    assert found.json()[0]["citation"] == "《中华人民共和国示范劳动保障法》第三条（2020-01-01）"

    asked = client.post("/api/kb/社保库/ask", json={"question": "工伤认定多久作出决定"}, headers=op)
    body = asked.json()
    assert body["mode"] == "offline" and body["label"].startswith("【AI辅助·离线】")
    assert body["citations"][0]["anchor"] == "第三条"

    # An internal base of another department is neither listed nor searchable for its viewer.
    assert client.get("/api/kb", headers=viewer).json() == []
    denied = client.get("/api/kb/社保库/search", params={"q": "工伤"}, headers=viewer)
    assert denied.status_code == 403 and "其他部门" in denied.json()["error"]["message"]
    with db.session() as session:
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"kb.create", "kb.import"} <= actions


def test_http_viewer_cannot_create(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    _, viewer, _ = _headers(db)
    response = client.post("/api/kb", json={"name": "x"}, headers=viewer)
    assert response.status_code == 403


def test_http_shared_bases_are_the_global_admins(settings: Settings, db: Database) -> None:
    from shuzhi.knowledge import KnowledgeService

    client = TestClient(create_app(settings, db))
    op, _, _ = _headers(db)
    KnowledgeService(db, settings).create("全市政策", grade="public")  # owned by no department
    document = {"file": ("通知.md", "# 通知\n\n所有罚款减半。".encode(), "text/markdown")}

    global_by_operator = client.post("/api/kb", json={"name": "共享库"}, headers=op)
    into_shared = client.post("/api/kb/全市政策/documents", files=document, headers=op)

    assert global_by_operator.status_code == 403 and "全局管理员" in global_by_operator.text
    assert into_shared.status_code == 403 and "全市共享" in into_shared.text


def test_http_upload_has_a_size_limit(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shuzhi.api.routes import knowledge

    monkeypatch.setattr(knowledge, "MAX_UPLOAD_BYTES", 1024)
    client = TestClient(create_app(settings, db))
    op, _, social = _headers(db)
    client.post("/api/kb", json={"name": "社保库", "department_id": social}, headers=op)
    big = {"file": ("big.txt", ("第一条 " + "字" * 2000).encode(), "text/plain")}

    refused = client.post("/api/kb/社保库/documents", files=big, headers=op)

    assert refused.status_code == 422 and "shuzhi kb import" in refused.json()["error"]["hint"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "kb", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "COLUMNS": "200"},
        timeout=300,
    )


def test_cli_create_import_search_ask(tmp_path: Path, corpus: Path) -> None:
    env = {
        "SHUZHI_DATA_DIR": str(tmp_path / "home"),
        "SHUZHI_CONFIG": str(tmp_path / "none.toml"),
        "SHUZHI_DATABASE_URL": "",
    }
    assert _cli("create", "法规", "--grade", "public", env=env).returncode == 0
    (corpus / "坏.pdf").write_bytes(b"%PDF broken")

    imported = _cli("import", "法规", str(corpus), env=env)
    assert imported.returncode == 1, imported.stderr  # one broken file: the rest goes in
    assert "新增 4" in imported.stdout and "失败 1" in imported.stdout
    assert "PDF 文件无法读取" in imported.stdout
    assert "跳过 1 个目录索引文件" in imported.stdout

    found = _cli("search", "法规", "济南热线多少个工作日内办结", env=env)
    assert "《济南市市民热线条例》第二条（2018-07-27）" in found.stdout

    asked = _cli("ask", "法规", "工伤认定多久作出决定", "--offline", env=env)
    assert "【知识库摘录】" in asked.stdout and "第三条" in asked.stdout

    missing = _cli("search", "没有的库", "问题", env=env)
    assert missing.returncode == 2 and "知识库不存在" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_http_restricted_base_needs_read_restricted(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    with db.session() as session:
        social = department(session, "rsj", "人社局")
        operator = user(session, "op", (Role.OPERATOR, social.id))
        reader = user(session, "reader", (Role.VIEWER, social.id), (Role.REVIEWER, social.id))
        op = {"Authorization": f"Bearer {create_api_key(session, 'op', operator.id)[1]}"}
        own = {"Authorization": f"Bearer {create_api_key(session, 'reader', reader.id)[1]}"}
    body = {"name": "涉密库", "department_id": social.id, "grade": "restricted"}
    assert client.post("/api/kb", json=body, headers=op).status_code == 201
    client.post(
        "/api/kb/涉密库/documents",
        files={"file": ("示范劳动保障法(2020-01-01).md", NATIONAL.encode(), "text/markdown")},
        headers=op,
    )

    allowed = client.get("/api/kb/涉密库/search", params={"q": "工伤认定"}, headers=op)
    assert allowed.status_code == 200 and allowed.json()
    # Same department, kb.read through two roles, but no kb.read_restricted: refused, with a reason.
    for path, call in (
        ("search", lambda: client.get("/api/kb/涉密库/search", params={"q": "工伤"}, headers=own)),
        ("ask", lambda: client.post("/api/kb/涉密库/ask", json={"question": "工伤"}, headers=own)),
    ):
        denied = call()
        assert denied.status_code == 403, path
        assert "restricted" in denied.json()["error"]["message"]
