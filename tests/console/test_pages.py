from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.aigc import visible_label
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.console.i18n import catalogue, translate
from shuzhi.platform import review
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, ReviewTask, WorkOrder
from tests.platform.helpers import PASSWORD, department, user


def _signed_in(settings: Settings, db: Database, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    form = {"username": username, "password": PASSWORD, "next": "/console/"}
    response = client.post("/console/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/console/password").text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert csrf is not None
    return client, csrf.group(1)


def test_every_message_has_chinese_and_english() -> None:
    for key, entry in catalogue().items():
        assert entry.get("zh") and entry.get("en"), key
    assert translate("audit.ok", "en", n=3) == "Chain intact; 3 records checked."
    assert translate("no.such.key", "zh") == "no.such.key"


def test_anonymous_visitors_are_sent_to_sign_in(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    response = client.get("/console/reviews", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/reviews"
    htmx = client.post("/console/departments", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/console/login")


def test_wrong_password_shows_a_message_and_is_audited(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "clerk", (Role.VIEWER, None))
    client = TestClient(create_app(settings, db))
    response = client.post("/console/login", data={"username": "clerk", "password": "bad"})
    assert response.status_code == 401 and "用户名或密码错误" in response.text
    with db.session() as session:
        assert session.scalar(select(AuditRecord.outcome)) == "failure"


def test_navigation_follows_the_roles(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "rev", (Role.REVIEWER, None))
        user(session, "aud", (Role.AUDIT_ADMIN, None))
    reviewer, _ = _signed_in(settings, db, "rev")
    nav = reviewer.get("/console/reviews").text
    assert 'href="/console/reviews"' in nav and 'href="/console/audit"' not in nav
    assert reviewer.get("/console/audit").status_code == 403
    auditor, _ = _signed_in(settings, db, "aud")
    assert auditor.get("/console/", follow_redirects=False).headers["location"] == "/console/audit"
    assert 'href="/console/reviews"' not in auditor.get("/console/audit").text


def test_review_decision_from_the_console(settings: Settings, db: Database) -> None:
    with db.session() as session:
        dept = department(session, "cg", "城管局")
        user(session, "rev", (Role.REVIEWER, dept.id))
        task_id = review.create_review_task(
            session, dept.id, "dispatch", "work_order", 1, "派单复核", {"unit": "城管局"}
        ).id
    client, csrf = _signed_in(settings, db, "rev")
    detail = client.get(f"/console/reviews/{task_id}").text
    assert visible_label("model") in detail and "城管局" in detail
    url = f"/console/reviews/{task_id}/decision"
    assert client.post(url, data={"action": "accept"}).status_code == 403  # no CSRF token
    no_reason = client.post(url, data={"action": "reject"}, headers={"X-CSRF-Token": csrf})
    assert no_reason.status_code == 422 and "理由" in no_reason.text
    done = client.post(url, data={"action": "accept"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and visible_label("human") in done.text
    with db.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None and task.status == "accepted" and task.decided_by_name == "rev"


def test_language_switch(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "rev", (Role.REVIEWER, None))
    client, _ = _signed_in(settings, db, "rev")
    assert "人工复核" in client.get("/console/reviews").text
    client.get("/console/lang/en", headers={"referer": "http://x/console/reviews"})
    assert "Review queue" in client.get("/console/reviews").text


def test_one_time_password_is_shown_once(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "root", (Role.SYSTEM_ADMIN, None))
    client, csrf = _signed_in(settings, db, "root")
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    created = client.post("/console/users", data={"username": "li"}, headers=headers)
    password = re.search(r'id="one-time-password">([^<]+)<', created.text)
    assert password is not None
    assert password.group(1) not in client.get("/console/users").text
    fresh = TestClient(create_app(settings, db))
    form = {"username": "li", "password": password.group(1)}
    landed = fresh.post("/console/login", data=form, follow_redirects=False)
    assert landed.headers["location"] == "/console/password", "must change the password first"
    blocked = fresh.get("/console/reviews", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/console/password"


def test_employee_lifecycle_from_the_console(settings: Settings, db: Database) -> None:
    from shuzhi.employees import service

    with db.session() as session:
        installed = {e.slug: e for e in service.install_builtin(session)}
        social = installed["social-insurance-clerk"].department_id
        user(session, "boss", (Role.DEPARTMENT_ADMIN, social))
    client, csrf = _signed_in(settings, db, "boss")
    listing = client.get("/console/employees").text
    assert "social-insurance-clerk" in listing and "approval-clerk" not in listing
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    url = "/console/employees/social-insurance-clerk/lifecycle"
    done = client.post(url, data={"target": "suspended", "reason": "系统升级"}, headers=headers)
    assert done.status_code == 200 and "停岗" in done.text
    other = client.post("/console/employees/approval-clerk/lifecycle",
                        data={"target": "suspended"}, headers=headers)  # fmt: skip
    assert other.status_code == 403
    with db.session() as session:
        record = session.scalar(
            select(AuditRecord).where(
                AuditRecord.action == "employee.lifecycle", AuditRecord.actor == "boss"
            )
        )
        assert record is not None and record.detail == {
            "from": "on_duty",
            "to": "suspended",
            "reason": "系统升级",
        }


def test_a_refused_go_on_duty_from_the_console_stays_in_the_audit_log(
    settings: Settings, db: Database
) -> None:
    from shuzhi.employees import definition_from_text, service

    text = (
        "id: notes-helper\nname: 口径助手\ndepartment: {code: hrss, name: 人社局}\n"
        "audience: staff\nrole: 查询政策口径。\n"
    )
    with db.session() as session:
        row = service.apply_definition(session, definition_from_text(text, "t.yaml"), "boss")
        service.transition(session, "notes-helper", "trial", "boss", "试用")
        user(session, "boss", (Role.DEPARTMENT_ADMIN, row.department_id))
    client, csrf = _signed_in(settings, db, "boss")
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}

    refused = client.post(
        "/console/employees/notes-helper/lifecycle",
        data={"target": "on_duty", "reason": "上线"},
        headers=headers,
    )

    assert refused.status_code == 409 and "不能上岗" in refused.text
    with db.session() as session:
        outcomes = session.scalars(
            select(AuditRecord.outcome).where(
                AuditRecord.action == "employee.lifecycle", AuditRecord.actor == "boss"
            )
        ).all()
    assert "refused" in outcomes


def _row(page: str, code: str) -> str:
    found = re.search(rf'<tr data-order="{code}">(.*?)</tr>', page, re.S)
    assert found is not None, code
    return found.group(1)


def test_a_work_order_without_a_title_shows_the_opening_of_its_text(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        dept = department(session, "cg", "城管局")
        user(session, "clerk", (Role.VIEWER, dept.id))
        session.add(
            WorkOrder(code="HL-T", department_id=dept.id, title="路灯不亮", text="晚上很黑")
        )
        text = "A市联丰路阳光新村门口积水严重。请尽快处理"
        session.add(WorkOrder(code="HL-N", department_id=dept.id, title="", text=text))
    client, _ = _signed_in(settings, db, "clerk")

    page = client.get("/console/workorders").text

    assert "路灯不亮" in _row(page, "HL-T")
    untitled = _row(page, "HL-N")
    assert ">A市联丰路阳光新村门口积水严重<" in untitled


def test_a_changed_password_leads_to_the_landing_page(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "root", (Role.SYSTEM_ADMIN, None)).must_change_password = True
    client, csrf = _signed_in(settings, db, "root")
    assert translate("password.must", "zh") in client.get("/console/password").text
    form = {"old_password": PASSWORD, "new_password": "fresh-pass-2026"}

    changed = client.post(
        "/console/password", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )

    assert changed.status_code == 204 and changed.headers["HX-Redirect"] == "/console/"
    landing = client.get("/console/", follow_redirects=False)
    assert landing.headers["location"] == "/console/dashboard"
    assert translate("password.must", "zh") not in client.get("/console/password").text


def test_an_unknown_console_address_gets_a_console_page(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))

    page = client.get("/console/nope", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "/console/nope" in page.text and 'href="/console/"' in page.text
    assert '<link rel="icon" href="/console/static/favicon.svg"' in page.text

    assert client.get("/console/static/favicon.svg").status_code == 200
    api = client.get("/console/nope", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.get("/api/nope", headers={"Accept": "text/html"}).json()["error"]


def test_times_are_shown_in_beijing_time_with_the_zone_named(
    settings: Settings, db: Database
) -> None:
    from datetime import UTC, datetime

    from shuzhi.console.web import local_time

    with db.session() as session:
        user(session, "aud", (Role.AUDIT_ADMIN, None))
    client, _ = _signed_in(settings, db, "aud")

    page = client.get("/console/audit").text
    client.get("/console/lang/en", headers={"referer": "http://x/console/audit"})
    english = client.get("/console/audit").text

    utc = datetime(2026, 12, 4, 7, 10, 5, tzinfo=UTC)
    assert local_time(utc, zone="北京时间") == "2026-12-04 15:10 (北京时间)"
    assert local_time(utc, with_seconds=True) == "2026-12-04 15:10:05"
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(北京时间\)</td>", page)
    assert re.search(r"\d\d:\d\d:\d\d \(Beijing time, UTC\+8\)</td>", english)


def test_addresses_and_forms_the_checks_refuse_get_console_pages(
    settings: Settings, db: Database
) -> None:
    """`/console/reviews/abc`, a NUL in a filter, a review id past 64 bits: the console answered
    with the API's JSON body; a clerk gets the console's page (or, under htmx, the inline
    message) in Chinese, and the API keeps its JSON."""
    with db.session() as session:
        user(session, "rev", (Role.REVIEWER, department(session, "cg").id))
    client, _ = _signed_in(settings, db, "rev")

    for path, words in (
        ("/console/reviews/abc", "请求内容有误"),
        ("/console/reviews/99999999999999999999", "数值超出范围"),
    ):
        page = client.get(path)
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        assert words in page.text and "<html" in page.text.lower(), path
    inline = client.get("/console/reviews/abc", headers={"HX-Request": "true"})
    assert inline.status_code == 422 and 'role="alert"' in inline.text
    assert "<html" not in inline.text.lower()
    assert client.get("/api/reviews/abc").headers["content-type"] == "application/json"

    nul = client.get("/console/workorders", params={"q": "积水\x00"})  # SQLite listed all
    assert nul.status_code == 422 and "搜索内容不能含控制字符" in nul.text

    long_code = "HL-" + "9" * 60_000
    missing = client.get(f"/console/workorders/{long_code}")
    assert missing.status_code == 404 and long_code not in missing.text  # not echoed whole
