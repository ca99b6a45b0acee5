"""Mistakes in a request become a 4xx in Chinese, on both databases, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.jobs.helpers import user_with_key


def test_bad_numbers_and_dangling_references_are_the_callers_mistake(
    settings: Settings, db: Database
) -> None:
    key, _ = user_with_key(db, "root", Role.SYSTEM_ADMIN)
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {key}"}

    dangling = client.post("/api/kb", json={"name": "x", "department_id": 9999}, headers=auth)
    huge = client.post("/api/kb", json={"name": "y", "department_id": 10**30}, headers=auth)
    missing = client.post("/api/kb", json={}, headers=auth)

    assert dangling.status_code == 409 and "department_id" in dangling.json()["error"]["message"]
    assert huge.status_code == 422 and "超出范围" in huge.json()["error"]["message"]
    assert missing.status_code == 422
    assert missing.json()["error"]["detail"] == [{"field": "name", "problem": "必填，缺少此项"}]
