from __future__ import annotations

from pathlib import Path

from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import WorkOrder
from tests.apiclient import api_client


def test_batch_job_from_the_api(
    settings: Settings, db: Database, sample_files: tuple[Path, Path]
) -> None:
    history, messages = sample_files
    client = api_client(settings, db, Role.OPERATOR)
    files = {
        "file": ("messages.csv", messages.read_bytes(), "text/csv"),
        "history": ("history.csv", history.read_bytes(), "text/csv"),
    }
    started = client.post("/api/hotline/batches", files=files, data={"threshold": "0.7"})
    assert started.status_code == 202, started.text
    job = jobs.resume_inline(db, started.json()["job_id"], settings=settings)
    assert job.status == "succeeded", job.error
    assert job.result is not None and job.result["messages"] == 80

    orders = client.get("/api/hotline/workorders", params={"job_id": job.id, "limit": 500}).json()
    assert len(orders) == 80
    assert all(o["decided_by"] == "ai" and o["mode"] == "offline" for o in orders)
    assert {o["status"] for o in orders} <= {"dispatched", "pending_review"}

    report = client.get(f"/api/hotline/batches/{job.id}/report")
    assert report.status_code == 200 and '<meta name="AIGC"' in report.text

    code = orders[0]["code"]
    drafted = client.post(f"/api/hotline/workorders/{code}/reply-draft").json()
    assert drafted["reply_status"] == "pending_approval"
    assert drafted["reply"].startswith("【AI辅助·离线】")
    assert "第二十四条" in drafted["reply"]
    with db.session() as session:
        session.query(WorkOrder).filter_by(code=code).one().reply_status = "approved"
    again = client.post(f"/api/hotline/workorders/{code}/reply-draft")
    assert again.status_code == 409 and "已审核通过" in again.json()["error"]["message"]
    assert client.get(f"/api/hotline/workorders/{code}").json()["reply"] == drafted["reply"]


def test_viewers_read_but_cannot_start_batches(settings: Settings, db: Database) -> None:
    client = api_client(settings, db, Role.VIEWER)
    files = {"file": ("m.csv", "留言详情\n路灯坏了\n".encode(), "text/csv")}
    assert client.post("/api/hotline/batches", files=files).status_code == 403
    assert client.get("/api/hotline/workorders").json() == []
    missing = client.get("/api/hotline/workorders/HL-x")
    assert missing.status_code == 404 and "没有工单" in missing.json()["error"]["message"]
    # An offset past any page is refused as such, not as a number the database cannot hold.
    far = client.get("/api/hotline/workorders", params={"offset": "99999999999999999999"})
    assert far.status_code == 422 and "offset" in far.text and "数值超出范围" not in far.text
    unknown = client.get("/api/hotline/workorders", params={"status": "nope"})
    assert unknown.status_code == 422 and "没有这种工单状态" in unknown.text
    assert "pending_review（待人工复核）" in unknown.json()["error"]["hint"]
    assert client.get("/api/hotline/workorders", params={"status": "dispatched"}).json() == []


def test_reply_check_endpoint(settings: Settings, db: Database) -> None:
    client = api_client(settings, db, Role.VIEWER)
    body = {
        "message": "小区门口路灯坏了一个月。希望尽快修复路灯！",
        "reply": "您好，我单位高度重视，将加强管理。",
        "received_at": "2019-09-02T02:00:00Z",
        "replied_at": "2019-09-20T02:00:00Z",
    }
    flags = client.post("/api/hotline/reply-check", json=body).json()["flags"]
    assert set(flags) == {"missed_demand", "no_commitment", "late"}


def test_a_file_whose_only_rows_are_unusable_is_refused_with_the_row(
    settings: Settings, db: Database
) -> None:
    """Not 「只有表头」: the row is there, and what is wrong with it is said."""
    client = api_client(settings, db, Role.OPERATOR)
    content = '留言主题,留言详情\n"未闭合引号,路灯坏了\n第二行,正常内容请处理\n'
    files = {"file": ("q.csv", content.encode(), "text/csv")}

    refused = client.post("/api/hotline/batches", files=files)

    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith("“q.csv”没有可处理的留言。第 2 行：这一行的引号没有闭合")
