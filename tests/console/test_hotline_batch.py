"""The console's batch dispatch page (批量派单): upload, follow the job, read the summary, download.

The job runs on the embedded worker that the app starts for its lifetime (``with TestClient``),
exactly as under ``shuzhi serve``; other signed-in users share that app without a second worker.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from shuzhi.aigc import visible_label
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.console import hotline_pages
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Job, WorkOrder
from tests.platform.helpers import PASSWORD, department, user

BATCHES = "/console/workorders/batches"
# Invented messages (no real person): three categories with words of their own.
TOPICS = {
    "城乡建设": [
        "小区电梯故障停运，物业不修",
        "楼道违章搭建占用消防通道",
        "道路施工坑洼不平迟迟不完工",
    ],
    "环境保护": [
        "工厂夜间偷排废气气味刺鼻",
        "餐馆油烟直排熏得开不了窗",
        "河道漂满垃圾水体发黑发臭",
    ],
    "交通运输": [
        "公交站点太少早高峰等不到车",
        "出租车拒载绕路乱收费",
        "路口红绿灯时长不合理总堵车",
    ],
}
PLACES = ["A1区芙蓉路桂花苑", "A2区湘江大道书香家园", "A3区联丰路阳光新村", "A5区人民路锦绣花园"]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _pairs() -> list[tuple[str, str]]:
    return [(category, text) for category, texts in TOPICS.items() for text in texts]


def history_csv() -> bytes:
    """Every topic at every place: 36 labelled orders."""
    rows = [
        [f"H{n:03d}", f"{place}{text}，请尽快处理。", category]
        for n, ((category, text), place) in enumerate(
            (pair, place) for pair in _pairs() for place in PLACES
        )
    ]
    return _csv(["留言编号", "留言详情", "一级分类"], rows)


def messages_csv() -> bytes:
    """Nine new messages, one per topic, worded differently and labelled (so accuracy shows)."""
    rows = [
        [f"M{n:03d}", f"2026/3/{n + 2} 09:30:00", f"{PLACES[n % 4]}附近{text}，希望解决", category]
        for n, (category, text) in enumerate(_pairs())
    ]
    return _csv(["留言编号", "留言时间", "留言详情", "一级分类"], rows)


def _sign_in(app: FastAPI, username: str, client: TestClient | None = None) -> TestClient:
    client = client or TestClient(app, raise_server_exceptions=False)
    form = {"username": username, "password": PASSWORD, "next": "/console/"}
    assert client.post("/console/login", data=form, follow_redirects=False).status_code == 303
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/console/password").text)
    assert csrf is not None
    client.headers.update({"X-CSRF-Token": csrf.group(1), "HX-Request": "true"})
    return client


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db)


@pytest.fixture
def worker(app: FastAPI) -> Iterator[TestClient]:
    """A client whose context runs the app's lifespan, and so the embedded job worker."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _start(client: TestClient, messages: bytes, **extra: object) -> int:
    files = {"file": ("留言.csv", messages, "text/csv")}
    history = extra.pop("history", None)
    if isinstance(history, bytes):
        files["history"] = ("历史工单.csv", history, "text/csv")
    data = {"model": "history" if history else "trained", "threshold": "0.5", **extra}
    started = client.post(BATCHES, files=files, data=data)
    assert started.status_code == 200, started.text
    found = re.search(r'id="batch-job" data-status="(\w+)"', started.text)
    assert found is not None and found.group(1) in ("queued", "running")
    pushed = started.headers["HX-Push-Url"]
    return int(pushed.rsplit("/", 1)[1])


def _wait(client: TestClient, job_id: int, timeout: float = 120.0) -> str:
    """Poll the fragment as the page does until the job is finished; the last fragment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fragment = client.get(f"{BATCHES}/{job_id}").text
        status = re.search(r'data-status="(\w+)"', fragment)
        assert status is not None, fragment
        if status.group(1) in ("succeeded", "failed", "cancelled"):
            assert 'hx-trigger="every' not in fragment, "a finished job stops polling"
            return fragment
        assert 'hx-trigger="every 1s"' in fragment
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not finish in {timeout} s")


def _figure(fragment: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]+)<', fragment)
    assert found is not None, name
    return found.group(1)


def test_operator_runs_a_batch_and_downloads_its_files(
    app: FastAPI, worker: TestClient, db: Database
) -> None:
    with db.session() as session:
        user(session, "op", (Role.OPERATOR, None))
    client = _sign_in(app, "op", worker)
    page = client.get(BATCHES, headers={"HX-Request": ""}).text
    assert 'id="batch-form"' in page and "尚未训练派单模型" in page

    job_id = _start(client, messages_csv(), history=history_csv())
    done = _wait(client, job_id)
    assert 'data-status="succeeded"' in done
    recent = client.get(BATCHES).text  # what the page reloads when the job has finished
    assert recent.startswith('<section class="card" id="batch-recent"') and "已完成" in recent
    assert _figure(done, "messages") == "9" and _figure(done, "created") == "9"
    dispatched, review = int(_figure(done, "dispatched")), int(_figure(done, "to_review"))
    assert dispatched + review == 9
    assert _figure(done, "accuracy").endswith("%")
    assert visible_label("offline", classifier=True) in done, "the figures carry the AI label"
    with db.session() as session:
        stored = session.scalar(select(func.count()).where(WorkOrder.job_id == job_id))
        assert stored == 9

    workbook = client.get(f"{BATCHES}/{job_id}/files/workbook")
    assert workbook.status_code == 200 and "attachment" in workbook.headers["content-disposition"]
    book = load_workbook(io.BytesIO(workbook.content), read_only=True)
    assert book["说明"]["A1"].value == visible_label("offline", classifier=True)
    codes = [row[0] for row in book["工单"].iter_rows(min_row=2, values_only=True)]
    assert len(codes) == 9 and all(str(code).startswith("HL-") for code in codes)
    lines = client.get(f"{BATCHES}/{job_id}/files/jsonl").text.splitlines()
    assert len(lines) == 9 and all("AIGC" in json.loads(line) for line in lines)
    report = client.get(f"{BATCHES}/{job_id}/files/report")
    assert report.status_code == 200 and '<meta name="AIGC"' in report.text
    assert report.headers["content-security-policy"].startswith("sandbox")
    assert client.get(f"{BATCHES}/{job_id}/files/params").status_code == 404
    with db.session() as session:
        exports = session.scalar(
            select(func.count()).where(AuditRecord.action == "hotline.batch.export")
        )
        assert exports == 3

    # The model is trained now: the page offers it, and the same file again adds no order.
    page = client.get(BATCHES, headers={"HX-Request": ""}).text
    assert "使用已训练的模型 hotline-dispatch-v1" in page and f'data-job="{job_id}"' in page
    again = _wait(client, _start(client, messages_csv()))
    assert _figure(again, "created") == "0" and "另有 9 条此前已导入" in again


def test_bad_files_get_a_message_on_the_page(
    app: FastAPI, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        user(session, "op", (Role.OPERATOR, None))
    client = _sign_in(app, "op")
    taxonomy = _csv(["一级分类", "二级分类", "三级分类"], [["城乡建设", "物业管理", "电梯"]])
    unlabelled = _csv(["留言详情"], [["路灯坏了"]])
    monkeypatch.setattr(hotline_pages, "CONSOLE_MAX_MB", 1)
    cases = [
        ({"file": ("分类体系.csv", taxonomy)}, "是分类体系表"),
        ({"file": ("留言.csv", b"")}, "是空文件"),
        ({"file": ("留言.docx", messages_csv())}, "不是 Excel（.xlsx）或 CSV（.csv）文件"),
        ({"file": ("留言.csv", messages_csv() + b"x" * (1024 * 1024))}, "超过了 1 MB 的上限"),
        ({"file": ("留言.csv", _csv(["留言详情"], []))}, "只有表头"),
        ({"file": ("留言.csv", messages_csv()), "history": ("h.csv", unlabelled)}, "没有分类列"),
        ({"file": ("留言.csv", messages_csv())}, "请上传带分类的历史工单"),
        ({}, "请选择要处理的市民留言文件"),
    ]
    for files, expected in cases:
        refused = client.post(BATCHES, files=files or None, data={"model": "history"})
        assert refused.status_code in (400, 422), (expected, refused.text)
        assert expected in refused.text and "Traceback" not in refused.text
        assert refused.headers["HX-Retarget"] == "#batch-job" and 'id="batch-job"' in refused.text
    trained = client.post(BATCHES, files={"file": ("留言.csv", messages_csv())},
                          data={"model": "trained"})  # fmt: skip
    assert "还没有训练好的派单模型" in trained.text
    both = {"file": ("留言.csv", messages_csv()), "history": ("h.csv", history_csv())}
    bad_threshold = client.post(BATCHES, files=both, data={"threshold": "高"})
    assert bad_threshold.status_code == 422 and "置信度阈值" in bad_threshold.text

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    uploads = settings.data_dir / "hotline" / "uploads"
    assert not any(p.is_file() for p in uploads.rglob("*")), "refused files are not kept"


def test_departments_see_only_their_batches_and_viewers_cannot_start(
    app: FastAPI, worker: TestClient, db: Database, tmp_path: Path
) -> None:
    with db.session() as session:
        city, parks = department(session, "cg", "城管局"), department(session, "yl", "园林局")
        user(session, "cg-op", (Role.OPERATOR, city.id))
        user(session, "cg-viewer", (Role.VIEWER, city.id))
        user(session, "yl-op", (Role.OPERATOR, parks.id))
        city_id = city.id
    operator = _sign_in(app, "cg-op", worker)
    job_id = _start(operator, messages_csv(), history=history_csv())
    assert 'data-status="succeeded"' in _wait(operator, job_id)
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.department_id == city_id

    viewer = _sign_in(app, "cg-viewer")
    page = viewer.get(BATCHES, headers={"HX-Request": ""}).text
    assert 'id="batch-form"' not in page and f'data-job="{job_id}"' in page
    assert viewer.get(f"{BATCHES}/{job_id}/files/jsonl").status_code == 200
    refused = viewer.post(BATCHES, files={"file": ("留言.csv", messages_csv())})
    assert refused.status_code == 403

    other = _sign_in(app, "yl-op")
    assert f'data-job="{job_id}"' not in other.get(BATCHES, headers={"HX-Request": ""}).text
    for url in (f"{BATCHES}/{job_id}", f"{BATCHES}/{job_id}/files/report"):
        hidden = other.get(url)
        assert hidden.status_code == 404 and "没有热线批处理任务" in hidden.text


def test_a_batch_queued_before_a_restart_finishes_after_it(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        user(session, "op", (Role.OPERATOR, None))
    before = create_app(settings, db)  # no lifespan: this server stops before any worker runs
    job_id = _start(_sign_in(before, "op"), messages_csv(), history=history_csv())
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "queued"

    after = create_app(settings, db)
    with TestClient(after, raise_server_exceptions=False) as restarted:  # its worker starts
        done = _wait(_sign_in(after, "op", restarted), job_id)
    assert 'data-status="succeeded"' in done and _figure(done, "created") == "9"


def test_a_failed_batch_shows_its_error_without_the_servers_paths(tmp_path: Path) -> None:
    """The page shows what went wrong as /api/jobs does: the data directory's path removed."""
    data_dir = tmp_path / "shuzhi-data"
    job = Job(
        kind="hotline.batch",
        status="failed",
        error=f"无法读取文件：{data_dir}/uploads/3/来电.xlsx（文件已损坏）",
        params={},
    )
    context = hotline_pages._job_context(job, data_dir)
    assert context["job_error"] == "无法读取文件：uploads/3/来电.xlsx（文件已损坏）"
    assert str(tmp_path) not in context["job_error"]


def test_a_rerun_after_decisions_shows_them_on_the_batch_page(
    app: FastAPI, worker: TestClient, db: Database
) -> None:
    """Rejected dispatches go back to manual dispatch: the figures must still add up."""
    from shuzhi.platform import review
    from shuzhi.platform.identity import principal_for_user
    from shuzhi.storage.models import ReviewTask, User

    with db.session() as session:
        user(session, "op", (Role.OPERATOR, None))
        user(session, "boss", (Role.REVIEWER, None))
    client = _sign_in(app, "op", worker)
    first = _wait(client, _start(client, messages_csv(), history=history_csv(), threshold="1.0"))
    assert _figure(first, "to_review") == "9" and 'data-figure="manual_dispatch"' not in first
    with db.session() as session:
        boss = principal_for_user(
            session, session.scalars(select(User).filter_by(username="boss")).one()
        )
        tasks = session.scalars(select(ReviewTask).order_by(ReviewTask.id)).all()
        review.decide(session, tasks[0].id, boss, "reject", reason="跨部门事项")
        review.decide(session, tasks[1].id, boss, "accept")

    again = _wait(client, _start(client, messages_csv()))
    figures = {n: int(_figure(again, n)) for n in ("dispatched", "to_review", "manual_dispatch")}
    assert figures == {"dispatched": 1, "to_review": 7, "manual_dispatch": 1}
    assert _figure(again, "decided_by_human") == "2" and "退回人工派单" in again
