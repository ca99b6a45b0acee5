"""``/api/jobs`` and the console's jobs page never show an absolute path on the server."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

import shuzhi.jobs.testing  # noqa: F401  (registers the test kinds)
from shuzhi import jobs
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.jobs.public import public_text, public_value
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import Job
from tests.console.test_pages import _signed_in
from tests.jobs.helpers import user_with_key
from tests.platform.helpers import department, user


def _job_with_paths(settings: Settings, db: Database, department_id: int | None) -> int:
    upload = settings.data_dir / "hotline" / "uploads" / "3f2a-留言.xlsx"
    with db.session() as session:
        job = jobs.submit(
            session,
            "test.noop",
            {"input": str(upload), "history": "/srv/elsewhere/历史.csv", "threshold": 0.6},
            created_by="clerk",
            department_id=department_id,
        )
        job.result = {"source": str(upload), "outputs": {"report": "/tmp/x/report.md"}, "n": 3}
        job.error = f"无法读取文件 {upload}：权限不足"
        return job.id


def test_the_api_shows_paths_relative_to_the_data_directory(
    settings: Settings, db: Database
) -> None:
    key, dept = user_with_key(db, "clerk", Role.OPERATOR, department_code="d1")
    job_id = _job_with_paths(settings, db, dept)
    client = TestClient(create_app(settings, db))  # no lifespan: the job stays queued
    headers = {"Authorization": f"Bearer {key}"}

    shown = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    listed = client.get("/api/jobs", headers=headers).json()

    assert shown["params"] == {
        "input": "hotline/uploads/3f2a-留言.xlsx",
        "history": "历史.csv",
        "threshold": 0.6,
    }
    assert shown["result"] == {
        "source": "hotline/uploads/3f2a-留言.xlsx",
        "outputs": {"report": "report.md"},
        "n": 3,
    }
    assert shown["error"] == "无法读取文件 hotline/uploads/3f2a-留言.xlsx：权限不足"
    assert listed == [shown]
    with db.session() as session:  # what the job itself uses is unchanged
        stored = session.get(Job, job_id)
        assert stored is not None
        assert stored.params["input"] == str(settings.data_dir / "hotline/uploads/3f2a-留言.xlsx")


def test_the_console_jobs_page_hides_the_data_directory(settings: Settings, db: Database) -> None:
    with db.session() as session:
        dept = department(session, "d1").id
        user(session, "clerk", (Role.OPERATOR, dept))
    _job_with_paths(settings, db, dept)
    client, _ = _signed_in(settings, db, "clerk")

    page = client.get("/console/jobs")

    assert page.status_code == 200
    assert "无法读取文件 hotline/uploads/3f2a-留言.xlsx" in page.text
    assert str(settings.data_dir) not in page.text


def test_only_absolute_paths_are_rewritten(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    given = {
        "file": str(data_dir / "a" / "b.csv"),
        "label": "热线/城管",
        "relative": "uploads/x.csv",
        "note": "第一行\n/不是路径",
        "many": [str(tmp_path / "other" / "c.csv"), 3, None],
    }
    assert public_value(given, data_dir) == {
        "file": "a/b.csv",
        "label": "热线/城管",
        "relative": "uploads/x.csv",
        "note": "第一行\n/不是路径",
        "many": ["c.csv", 3, None],
    }
    assert public_text(f"打不开 {data_dir}/a/b.csv", data_dir) == "打不开 a/b.csv"
