from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.cn.clock import CHINA
from shuzhi.config import Settings
from shuzhi.platform import accounts, review
from shuzhi.platform.accounts import Actor
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord, Conversation, ModelUsage, ReviewTask, UserRole
from tests.platform.helpers import PASSWORD, department, principal, user


def _client(settings: Settings, db: Database) -> TestClient:
    return TestClient(create_app(settings, db), raise_server_exceptions=False)


def _login(client: TestClient, username: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_cookie_session_needs_csrf_for_changes(settings: Settings, db: Database) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        user(session, "rev", (Role.REVIEWER, dept.id))
        task = review.create_review_task(session, dept.id, "k", "s", 1, "派单", {"unit": "A"})
    client = _client(settings, db)
    csrf = _login(client, "rev")
    assert client.get("/api/auth/me").json()["username"] == "rev"
    listed = client.get("/api/reviews").json()
    assert [t["id"] for t in listed] == [task.id]

    url = f"/api/reviews/{task.id}/decision"
    refused = client.post(url, json={"action": "accept"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    done = client.post(url, json={"action": "accept"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["decided_by"] == "rev"
    assert done.json()["decision"]["content"] == {"unit": "A"}

    client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert client.get("/api/auth/me").status_code == 401


def test_failed_login_is_recorded_even_though_it_fails(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "clerk", (Role.VIEWER, None))
    client = _client(settings, db)
    bad = client.post("/api/auth/login", json={"username": "clerk", "password": "nope-nope"})
    assert bad.status_code == 401 and "密码" in bad.json()["error"]["message"]
    with db.session() as session:
        record = session.scalar(select(AuditRecord).where(AuditRecord.action == "auth.login"))
        assert record is not None and record.outcome == "failure"
        assert record.source_ip == "testclient"


def test_only_the_audit_admin_reads_and_exports(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "aud", (Role.AUDIT_ADMIN, None))
        user(session, "root", (Role.SYSTEM_ADMIN, None))
    client = _client(settings, db)
    _login(client, "root")
    assert client.get("/api/audit").status_code == 403
    auditor = _client(settings, db)
    _login(auditor, "aud")
    rows = auditor.get("/api/audit", params={"action": "auth."}).json()
    assert {r["actor"] for r in rows} == {"root", "aud"}
    assert auditor.get("/api/audit/verify").json()["ok"] is True
    export = auditor.get("/api/audit/export.csv")
    assert export.status_code == 200 and export.text.startswith("\ufeffid,at,actor")
    assert "auth.login" in export.text

    # Times without a zone are Beijing time; a date no UTC time can hold is a Chinese 422.
    today = utcnow().astimezone(CHINA).date().isoformat()
    assert len(auditor.get("/api/audit", params={"since": today}).json()) >= 2
    assert auditor.get("/api/audit", params={"until": "2000-01-01T00:00:00"}).json() == []
    far = auditor.get("/api/audit/export.csv", params={"since": "0001-01-01"})
    assert far.status_code == 422 and "超出可用的时间范围" in far.json()["error"]["message"]
    page = auditor.get("/console/audit", params={"since": "0001-01-01"})
    assert page.status_code == 422 and "日期超出可用范围" in page.text and "<html" in page.text


def test_admin_flow_creates_department_user_role_and_key(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "root", (Role.SYSTEM_ADMIN, None))
        user(session, "sec", (Role.SECURITY_ADMIN, None))
    admin, security = _client(settings, db), _client(settings, db)
    csrf = {"X-CSRF-Token": _login(admin, "root")}
    dept = admin.post("/api/departments", json={"code": "rsj", "name": "人社局"}, headers=csrf)
    assert dept.status_code == 201
    created = admin.post("/api/users", json={"username": "li"}, headers=csrf).json()
    assert len(created["password"]) >= 12 and created["roles"] == []

    sec_csrf = {"X-CSRF-Token": _login(security, "sec")}
    grant = {"role": "operator", "department_id": dept.json()["id"]}
    granted = security.post(f"/api/users/{created['id']}/roles", json=grant, headers=sec_csrf)
    assert granted.status_code == 200 and granted.json()["roles"] == [grant | {}]
    both = {"role": "audit_admin"}
    assert (
        admin.post(f"/api/users/{created['id']}/roles", json=both, headers=csrf).status_code == 403
    )

    key = admin.post("/api/keys", json={"name": "etl", "roles": ["viewer"]}, headers=csrf).json()
    system = TestClient(admin.app)
    assert (
        system.get("/metrics", headers={"Authorization": f"Bearer {key['key']}"}).status_code == 200
    )


def test_metrics_and_satisfaction(settings: Settings, db: Database) -> None:
    from shuzhi.storage.db import utcnow

    with db.session() as session:
        dept = department(session, "cg", "城管局")
        user(session, "op", (Role.OPERATOR, dept.id))
        user(session, "boss", (Role.DEPARTMENT_ADMIN, dept.id))
        session.add(Conversation(public_id="c-1", department_id=dept.id))
        session.add(Conversation(public_id="c-2", department_id=dept.id, status="handoff"))
        session.add(ModelUsage(at=utcnow(), department_id=dept.id, prompt_tokens=100,
                               completion_tokens=20, cost=0.5))  # fmt: skip
    client = _client(settings, db)
    csrf = {"X-CSRF-Token": _login(client, "op")}
    rate = client.post("/api/conversations/c-1/satisfaction", json={"score": 4}, headers=csrf)
    assert rate.status_code == 204
    bad = client.post("/api/conversations/c-1/satisfaction", json={"score": 9}, headers=csrf)
    assert bad.status_code == 422

    boss = _client(settings, db)
    _login(boss, "boss")
    board = boss.get("/api/metrics/dashboard").json()
    assert board["conversations"] == 2 and board["handoff_rate"] == 0.5
    assert board["satisfaction"] == 4.0
    assert board["usage"] == [{"department": "城管局", "tokens": 120, "cost": 0.5, "calls": 1}]
    text = boss.get("/metrics").text
    assert 'shuzhi_model_tokens{department="城管局"} 120.0' in text
    assert "shuzhi_handoff_ratio 0.5" in text


def test_refused_requests_are_security_events(settings: Settings, db: Database) -> None:
    with db.session() as session:
        user(session, "view", (Role.VIEWER, None))
    client = _client(settings, db)
    assert (
        client.get("/api/users", headers={"Authorization": "Bearer sz-forged"}).status_code == 401
    )
    _login(client, "view")
    assert client.get("/api/audit").status_code == 403
    with db.session() as session:
        events = {(r.action, r.actor, r.outcome): r for r in session.scalars(select(AuditRecord))}
    assert ("auth.apikey", "anonymous", "failure") in events
    denied = events[("access.denied", "view", "failure")]
    assert denied.target == "GET /api/audit" and denied.detail["permission"] == "audit.read"


def test_the_review_queue_pages_and_says_how_long_it_is(settings: Settings, db: Database) -> None:
    """`/api/reviews` stopped silently at 200 tasks; it now pages and names the total."""
    with db.session() as session:
        dept = department(session, "cg")
        user(session, "rev", (Role.REVIEWER, dept.id))
        ids = [
            review.create_review_task(session, dept.id, "k", "s", i, "派单", {}).id
            for i in range(205)
        ]
    client = _client(settings, db)
    _login(client, "rev")
    first = client.get("/api/reviews")
    assert first.headers["X-Total-Count"] == "205" and len(first.json()) == 200
    rest = client.get("/api/reviews", params={"offset": 200, "limit": 50})
    seen = [t["id"] for t in first.json()] + [t["id"] for t in rest.json()]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 205
    assert client.get("/api/reviews", params={"limit": 0}).status_code == 422


def test_a_decision_reason_past_the_limit_is_refused_by_the_schema_that_documents_it(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        user(session, "rev", (Role.REVIEWER, dept.id))
        task = review.create_review_task(session, dept.id, "k", "s", 1, "派单", {"unit": "A"})
    client = _client(settings, db)
    csrf = {"X-CSRF-Token": _login(client, "rev")}
    url = f"/api/reviews/{task.id}/decision"
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Decision"]

    limit = review.MAX_REASON
    too_long = client.post(
        url, json={"action": "reject", "reason": "理" * (limit + 1)}, headers=csrf
    )
    at_limit = client.post(url, json={"action": "reject", "reason": "理" * limit}, headers=csrf)

    assert schema["properties"]["reason"]["maxLength"] == limit
    assert too_long.status_code == 422
    assert too_long.json()["error"]["detail"] == [
        {"field": "reason", "problem": f"最多 {limit} 个字符（现有 {limit + 1} 个）"}
    ]
    assert at_limit.status_code == 200 and at_limit.json()["status"] == "rejected", at_limit.text


def _login_with(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": str(response.json()["csrf_token"])}


def _change_password(client: TestClient, csrf: dict[str, str], old: str) -> None:
    body = {"old_password": old, "new_password": "changed-pass-2026"}
    changed = client.post("/api/auth/password", json=body, headers=csrf)
    assert changed.status_code == 204, changed.text


def test_a_one_time_password_decides_no_review_until_changed(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        admin = Actor(principal(session, "root", (Role.SYSTEM_ADMIN, None)))
        rev, first = accounts.create_account(session, admin, "rev")
        session.add(UserRole(user_id=rev.id, role=Role.REVIEWER.value, department_id=dept.id))
        task = review.create_review_task(session, dept.id, "k", "s", 1, "派单", {"unit": "A"})
    client = _client(settings, db)
    csrf = _login_with(client, "rev", first)

    # Who am I and how to change the password stay open, with a way out.
    assert client.get("/api/auth/me").json()["must_change_password"] is True
    url = f"/api/reviews/{task.id}/decision"
    refused = client.post(url, json={"action": "accept"}, headers=csrf)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "password_change_required"
    assert "请先修改初始密码" in error["message"] and "/api/auth/password" in error["message"]
    assert client.get("/api/reviews").status_code == 403
    models = client.get("/v1/models")
    assert models.status_code == 403 and "请先修改初始密码" in models.json()["error"]["message"]
    with db.session() as session:
        assert session.get(ReviewTask, task.id).status == "pending"  # type: ignore[union-attr]
        denied = session.scalars(select(AuditRecord).where(AuditRecord.action == "access.denied"))
        assert {(r.actor, r.detail.get("reason")) for r in denied} == {
            ("rev", "must_change_password")
        }

    _change_password(client, csrf, first)
    assert client.get("/api/auth/me").json()["must_change_password"] is False
    done = client.post(url, json={"action": "accept"}, headers=csrf)
    assert done.status_code == 200 and done.json()["decided_by"] == "rev"


def test_an_auditor_reads_no_audit_log_after_a_reset_until_changed(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        user(session, "aud", (Role.AUDIT_ADMIN, None))
        sec = Actor(principal(session, "sec", (Role.SECURITY_ADMIN, None)))
        fresh = accounts.reset_password(session, sec, "aud")
    auditor = _client(settings, db)
    csrf = _login_with(auditor, "aud", fresh)
    for path in ("/api/audit", "/api/audit/verify", "/api/audit/export.csv", "/metrics"):
        refused = auditor.get(path)
        assert refused.status_code == 403, path
        assert "请先修改初始密码" in refused.json()["error"]["message"]
    # Signing out needs no changed password either.
    assert auditor.post("/api/auth/logout", headers=csrf).status_code == 204
    assert auditor.get("/api/auth/me").status_code == 401

    csrf = _login_with(auditor, "aud", fresh)
    _change_password(auditor, csrf, fresh)
    rows = auditor.get("/api/audit", params={"action": "user.change_password"})
    assert rows.status_code == 200 and [r["actor"] for r in rows.json()] == ["aud"]


def test_an_api_key_works_while_its_owner_must_change_the_password(
    settings: Settings, db: Database
) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        rev = user(session, "rev", (Role.REVIEWER, dept.id))
        sec = Actor(principal(session, "sec", (Role.SECURITY_ADMIN, None)))
        _, plain = accounts.issue_api_key(session, sec, "rev-script", user_id=rev.id)
        accounts.reset_password(session, sec, "rev")
        task = review.create_review_task(session, dept.id, "k", "s", 1, "派单", {"unit": "A"})
    client = TestClient(create_app(settings, db))
    key = {"Authorization": f"Bearer {plain}"}
    done = client.post(f"/api/reviews/{task.id}/decision", json={"action": "accept"}, headers=key)
    assert done.status_code == 200 and done.json()["decided_by"] == "rev"
