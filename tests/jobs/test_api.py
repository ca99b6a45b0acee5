"""``/api/jobs`` and the app's embedded worker, on each database backend."""

from __future__ import annotations

from fastapi.testclient import TestClient

import shuzhi.jobs.testing  # noqa: F401  (registers the test kinds)
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.jobs.helpers import user_with_key, wait_finished


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_submit_and_follow_a_job_through_the_api(settings: Settings, db: Database) -> None:
    key, dept = user_with_key(db, "clerk", Role.OPERATOR, department_code="d1")
    with TestClient(create_app(settings, db)) as client:  # the lifespan runs the embedded worker
        response = client.post(
            "/api/jobs",
            json={"kind": "test.sleepy_batch", "params": {"items": 3}},
            headers=_auth(key),
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["department_id"] == dept and job["created_by"] == "clerk"
        wait_finished(db, job["id"])
        shown = client.get(f"/api/jobs/{job['id']}", headers=_auth(key)).json()
        items = client.get(f"/api/jobs/{job['id']}/items", headers=_auth(key)).json()
        listed = client.get("/api/jobs", headers=_auth(key)).json()
    assert shown["status"] == "succeeded" and shown["status_zh"] == "已完成"
    assert shown["result"] == {"items": 3, "sum_of_squares": 5}
    assert [i["key"] for i in items] == ["item-00000", "item-00001", "item-00002"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_permissions_and_department_scoping(settings: Settings, db: Database) -> None:
    clerk, _ = user_with_key(db, "clerk", Role.OPERATOR, department_code="d1")
    other, _ = user_with_key(db, "other", Role.OPERATOR, department_code="d2")
    viewer, _ = user_with_key(db, "viewer", Role.VIEWER, department_code="d1")
    client = TestClient(create_app(settings, db))  # no lifespan: jobs stay queued
    job = client.post("/api/jobs", json={"kind": "test.noop"}, headers=_auth(clerk)).json()

    assert client.get(f"/api/jobs/{job['id']}", headers=_auth(other)).status_code == 404
    assert client.get("/api/jobs", headers=_auth(other)).json() == []
    assert client.get(f"/api/jobs/{job['id']}", headers=_auth(viewer)).status_code == 200
    denied = client.post("/api/jobs", json={"kind": "test.noop"}, headers=_auth(viewer))
    assert denied.status_code == 403
    system = client.post("/api/jobs", json={"kind": "test.system_only"}, headers=_auth(clerk))
    assert system.status_code == 403
    unknown = client.post("/api/jobs", json={"kind": "nope"}, headers=_auth(clerk))
    assert unknown.status_code == 422 and "未知的任务类型" in unknown.json()["error"]["message"]
    assert client.get("/api/jobs").status_code == 401


def test_cancel_and_retry_through_the_api(settings: Settings, db: Database) -> None:
    clerk, _ = user_with_key(db, "clerk", Role.OPERATOR, department_code="d1")
    client = TestClient(create_app(settings, db))
    job = client.post("/api/jobs", json={"kind": "test.noop"}, headers=_auth(clerk)).json()
    cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=_auth(clerk))
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job['id']}/cancel", headers=_auth(clerk))
    assert again.status_code == 409
    retried = client.post(f"/api/jobs/{job['id']}/retry", headers=_auth(clerk))
    assert retried.json()["status"] == "queued"


def test_a_kind_with_server_paths_is_refused_on_the_generic_route(
    settings: Settings, db: Database
) -> None:
    import shuzhi.scenarios.hotline.jobs  # noqa: F401  (registers hotline.batch)

    clerk, _ = user_with_key(db, "clerk", Role.OPERATOR, department_code="d1")
    client = TestClient(create_app(settings, db))
    params = {"input": "/etc/passwd", "out_dir": "/tmp/anywhere", "department_id": 1}

    refused = client.post(
        "/api/jobs", json={"kind": "hotline.batch", "params": params}, headers=_auth(clerk)
    )

    assert refused.status_code == 403
    assert "/api/hotline/batches" in refused.json()["error"]["hint"]
    assert client.get("/api/jobs", headers=_auth(clerk)).json() == []
