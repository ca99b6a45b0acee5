"""The console's knowledge pages follow the API's rules on security grades and departments."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.knowledge import KnowledgeService
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.console.test_pages import _signed_in
from tests.platform.helpers import department, user

TEXT = "# 市容管理办法\n\n第三条 占道经营须经城市管理部门批准。\n"
# name → (grade, owning department code or None)
BASES = {
    "全市公开法规": ("public", None),
    "城管内部指南": ("internal", "cg"),
    "城管受限案卷": ("restricted", "cg"),
    "人社内部指南": ("internal", "rsj"),
    "共享受限资料": ("restricted", None),
}
ROLES = [Role.VIEWER, Role.OPERATOR, Role.REVIEWER, Role.DEPARTMENT_ADMIN]


def _seed(db: Database, settings: Settings) -> dict[Role, str]:
    with db.session() as session:
        ids = {"cg": department(session, "cg", "城管局").id,
               "rsj": department(session, "rsj", "人社局").id}  # fmt: skip
        keys = {}
        for role in ROLES:
            holder = user(session, role.value, (role, ids["cg"]))
            keys[role] = create_api_key(session, f"k-{role.value}", holder.id)[1]
    service = KnowledgeService(db, settings)
    for name, (grade, owner) in BASES.items():
        service.create(name, ids[owner] if owner else None, grade)
        service.import_upload(name, "市容管理办法.md", TEXT.encode())
    return keys


def _listed(client: TestClient) -> set[str]:
    page = client.get("/console/knowledge").text
    return set(re.findall(r'<tr data-kb="([^"]+)"', page))


@pytest.mark.parametrize("role", ROLES)
def test_console_lists_exactly_what_the_api_lets_a_role_search(
    settings: Settings, db: Database, role: Role
) -> None:
    keys = _seed(db, settings)
    api = TestClient(create_app(settings, db))
    searchable = {
        name
        for name in BASES
        if api.get(f"/api/kb/{name}/search", params={"q": "占道经营"},
                   headers={"Authorization": f"Bearer {keys[role]}"}).status_code == 200
    }  # fmt: skip
    auth = {"Authorization": f"Bearer {keys[role]}"}
    assert {kb["name"] for kb in api.get("/api/kb", headers=auth).json()} == searchable
    console, csrf = _signed_in(settings, db, role.value)
    assert _listed(console) == searchable
    assert "人社内部指南" not in searchable, "another department's internal base stays closed"
    assert "全市公开法规" in searchable

    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    for name in BASES:
        found = console.post("/console/knowledge/search", data={"kb": name, "query": "占道经营"},
                             headers=headers)  # fmt: skip
        assert (found.status_code == 200) == (name in searchable), (role, name, found.text)
        if name in searchable:
            assert "第三条" in found.text


def test_restricted_bases_are_not_for_viewers(settings: Settings, db: Database) -> None:
    _seed(db, settings)
    viewer, _ = _signed_in(settings, db, Role.VIEWER.value)
    operator, _ = _signed_in(settings, db, Role.OPERATOR.value)
    assert "城管受限案卷" not in _listed(viewer) and "共享受限资料" not in _listed(viewer)
    assert {"城管受限案卷", "共享受限资料"} <= _listed(operator)
    page = operator.get("/console/knowledge").text
    assert 'data-grade="restricted"' in page and "受限" in page
    assert (
        'id="kb-upload-form"' in page
        and 'id="kb-upload-form"' not in viewer.get("/console/knowledge").text
    )
