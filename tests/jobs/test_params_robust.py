"""Bad job params are refused before a job exists; a job that fails says why in Chinese.

Before: ``{"kind": "data.profile", "params": {}}`` was queued and failed three times with
``KeyError: 'dataset'``; a list as the dataset failed with raw SQL; a deleted Parquet file showed
DuckDB's ``IOException`` with its caret display, in /api/jobs and on the console.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

import shuzhi.jobs.testing  # noqa: F401  (registers the test kinds)
from shuzhi import jobs
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.jobs import store
from shuzhi.jobs.queue import DatabaseQueue
from shuzhi.jobs.runner import INTERNAL_ERROR, execute
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.demo import write_sample
from shuzhi.storage.db import Database
from shuzhi.storage.models import Job
from tests.console.test_pages import _signed_in
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv
from tests.platform.helpers import department, user

QUEUE = DatabaseQueue()
RAW = ("KeyError", "ProgrammingError", "IOException", "SQL", "Traceback", "InvalidInput", "LINE 1")


def _operator(settings: Settings, db: Database) -> tuple[TestClient, dict[str, str]]:
    with db.session() as session:
        dept = department(session, "civil", "民政局")
        account = user(session, "clerk", (Role.OPERATOR, dept.id))
        key = create_api_key(session, "clerk", account.id)[1]
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {key}"}


def _job_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def _register_people(settings: Settings, db: Database, tmp_path: Path) -> Path:
    csv_path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "utf-8")
    with db.session() as session:
        dataset = service.register_file(session, settings, csv_path, name="people")
        return Path(dataset.storage_path)


def _raw_free(text: str) -> bool:
    return not any(word in text for word in RAW)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "dataset: 必填，缺少此项"),
        ({"dataset": ["people"]}, "dataset: 应为文本或整数"),
        ({"dataset": {"name": "people"}}, "dataset: 应为文本或整数"),
        ({"dataset": True}, "dataset: 应为文本或整数"),
        ({"dataset": 10**30}, "dataset: 应不大于 2147483647"),
        ({"dataset": ""}, "dataset: 至少 1 个字符"),
        ({"dataset": "peo\u200bple"}, "U+200B 零宽空格"),
        ({"dataset": "people", "sheet": 1}, "sheet: 不认识的参数"),
    ],
)
def test_bad_profile_params_are_refused_before_a_job_exists(
    settings: Settings, db: Database, params: dict[str, Any], problem: str
) -> None:
    client, headers = _operator(settings, db)

    response = client.post(
        "/api/jobs", json={"kind": "data.profile", "params": params}, headers=headers
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"].startswith("任务「数据集画像」的参数有误：")
    assert problem in error["message"], error["message"]
    assert "dataset（数据集名称或编号，必填）" in error["hint"]
    assert _raw_free(response.text)
    assert _job_count(db) == 0


def test_good_params_still_queue_the_job(settings: Settings, db: Database) -> None:
    client, headers = _operator(settings, db)

    by_name = client.post(
        "/api/jobs", json={"kind": "data.profile", "params": {"dataset": "people"}}, headers=headers
    )
    by_id = client.post(
        "/api/jobs", json={"kind": "data.quality", "params": {"dataset": 3}}, headers=headers
    )
    all_of_them = client.post("/api/jobs", json={"kind": "data.quality"}, headers=headers)

    assert [r.status_code for r in (by_name, by_id, all_of_them)] == [202, 202, 202]
    assert by_name.json()["params"] == {"dataset": "people"}
    assert by_id.json()["params"] == {"dataset": 3}
    assert all_of_them.json()["params"] == {}


def test_a_queued_job_with_bad_params_fails_once_in_chinese(
    settings: Settings, db: Database
) -> None:
    job = jobs.submit(db, "data.profile", {"dataset": "people"}, queue=QUEUE)
    with db.session() as session:  # a job queued before the check, or written by hand
        session.execute(update(Job).where(Job.id == job.id).values(params={"dataset": [1]}))
    claim = store.claim(db, job.id, "w", lease=30)
    assert claim is not None

    assert execute(db, settings, claim, lease=30) is None

    failed = jobs.get(db, job.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error is not None and "dataset: 应为文本或整数" in failed.error
    assert _raw_free(failed.error)


def test_an_unknown_dataset_fails_at_once_with_its_chinese_message(
    settings: Settings, db: Database
) -> None:
    job = jobs.submit(db, "data.profile", {"dataset": "nobody"}, queue=QUEUE)
    claim = store.claim(db, job.id, "w", lease=30)
    assert claim is not None

    assert execute(db, settings, claim, lease=30) is None

    failed = jobs.get(db, job.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error == "数据集 nobody 不存在（用 `shuzhi data list` 查看已登记的数据集）"


def test_an_unexpected_error_is_shown_in_general_and_logged_in_full(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    job = jobs.submit(db, "test.flaky", {"succeed_on": 2}, queue=QUEUE)
    claim = store.claim(db, job.id, "w", lease=30)
    assert claim is not None

    with caplog.at_level(logging.ERROR, logger="shuzhi.jobs.runner"):
        run_at = execute(db, settings, claim, lease=30)

    shown = jobs.get(db, job.id)
    assert shown.error == INTERNAL_ERROR == "任务执行出错（内部错误，已记入日志）"
    assert shown.status == "queued" and run_at is not None  # not the caller's fault: retried
    logged = [r for r in caplog.records if r.name == "shuzhi.jobs.runner"]
    assert logged and logged[-1].exc_info is not None
    assert "simulated failure on attempt 1" in caplog.text


def test_a_deleted_dataset_file_is_a_conflict_not_a_500(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    client, headers = _operator(settings, db)
    parquet = _register_people(settings, db, tmp_path)
    first = client.post("/api/data/datasets/people/profile", headers=headers)
    assert first.status_code == 200, first.text  # the profile proposes the quality rules
    parquet.unlink()

    profiled = client.post("/api/data/datasets/people/profile", headers=headers)
    quality = client.post("/api/data/datasets/people/quality", headers=headers)
    rows = client.get("/api/data/datasets/people/rows", headers=headers)

    assert profiled.status_code == 409, profiled.text
    error = profiled.json()["error"]
    assert error["message"] == "数据集 people 的数据文件已不存在（可能被删除或移动），无法读取"
    assert "shuzhi data register <原文件> --name people --replace" in error["hint"]
    for response in (quality, rows):
        assert response.status_code == 409 and "数据文件已不存在" in response.text, response.text
    assert all(_raw_free(r.text) for r in (profiled, quality, rows))


def test_a_profile_job_on_a_deleted_file_fails_once_and_the_pages_say_why(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    client, headers = _operator(settings, db)
    _register_people(settings, db, tmp_path).unlink()
    submitted = client.post(
        "/api/jobs", json={"kind": "data.profile", "params": {"dataset": "people"}}, headers=headers
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    claim = store.claim(db, job_id, "w", lease=30)
    assert claim is not None

    assert execute(db, settings, claim, lease=30) is None

    shown = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    assert shown["status"] == "failed" and shown["attempts"] == 1
    assert shown["error"].startswith("数据集 people 的数据文件已不存在")
    console, _ = _signed_in(settings, db, "clerk")
    page = console.get("/console/jobs").text
    assert "数据集 people 的数据文件已不存在" in page
    assert _raw_free(shown["error"]) and "IOException" not in page


def test_a_batch_with_a_bad_history_names_the_file_as_it_was_sent(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    _, messages = write_sample(tmp_path)
    # The category column is there (the upload check passes), but no row has a category.
    empty_history = "留言主题,留言详情,一级分类\n路灯,路灯不亮,\n积水,小区积水,\n"
    client, headers = _operator(settings, db)
    files = {
        "file": ("来电.csv", messages.read_bytes(), "text/csv"),
        "history": ("历史 工单.csv", empty_history.encode(), "text/csv"),
    }
    started = client.post("/api/hotline/batches", files=files, headers=headers)
    assert started.status_code == 202, started.text

    job = jobs.resume_inline(db, started.json()["job_id"], settings=settings)

    assert job.status == "failed" and job.attempts == 1
    assert job.error is not None
    assert job.error.startswith("历史 工单.csv 中没有带分类的工单，无法训练派单模型"), job.error
    assert "-历史_工单.csv" not in job.error and _raw_free(job.error)
