"""The console in a real browser: sign in as several roles, decide a review task, and check
what each role can and cannot see. Screenshots of the main pages go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.aigc import visible_label
from shuzhi.config import Settings
from shuzhi.employees import service
from shuzhi.knowledge import KnowledgeService
from shuzhi.platform import review
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Conversation, ModelUsage, ReviewTask, WorkOrder
from tests.platform.helpers import PASSWORD, department, user

pytestmark = pytest.mark.browser


PENSION_LAW = (
    "# 社会保险法\n\n<!-- INFO END -->\n\n第十六条 参加基本养老保险的个人，达到法定退休年龄时"
    "累计缴费满十五年的，按月领取基本养老金。\n"
)


def _seed_employees(db: Database, settings: Settings) -> int:
    """The shipped employees and the social-insurance clerk's knowledge base; returns the
    clerk's department."""
    knowledge = KnowledgeService(db, settings)
    knowledge.create("社会保险法规", grade="public")
    knowledge.import_upload("社会保险法规", "社会保险法.md", PENSION_LAW.encode())
    with db.session() as session:
        installed = {e.slug: e for e in service.install_builtin(session)}
        department_id = installed["social-insurance-clerk"].department_id
        assert department_id is not None
        return department_id


def _seed(db: Database, social: int) -> int:
    with db.session() as session:
        cg = department(session, "cg", "城管局")
        rsj = department(session, "rsj", "人社局")
        user(session, "root", (Role.SYSTEM_ADMIN, None))
        user(session, "aud", (Role.AUDIT_ADMIN, None))
        user(session, "sec", (Role.SECURITY_ADMIN, None))
        user(session, "rev", (Role.REVIEWER, cg.id), (Role.OPERATOR, social))
        user(session, "boss", (Role.DEPARTMENT_ADMIN, cg.id))
        user(session, "other", (Role.REVIEWER, rsj.id))
        session.add(Conversation(public_id="c1", department_id=cg.id, satisfaction=5))
        session.add(Conversation(public_id="c2", department_id=cg.id, status="handoff"))
        order = WorkOrder(code="WO-1", department_id=cg.id, title="占道经营", decided_by="ai",
                          status="dispatched", handling_unit="历下区城管局")  # fmt: skip
        session.add(order)
        session.add(ModelUsage(at=utcnow(), department_id=cg.id, prompt_tokens=900,
                               completion_tokens=100, cost=0.8, endpoint="city-vllm",
                               model="deepseek-v3"))  # fmt: skip
        task = review.create_review_task(
            session, cg.id, "dispatch", "work_order", "WO-1", "派单复核：占道经营",
            {"handling_unit": "历下区城管局", "confidence": 0.41, "mode": "offline"},
        )  # fmt: skip
        return task.id


def _sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _nav(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#nav a", "els => els.map(e => e.dataset.key)"))


def test_roles_review_and_screenshots(
    live_server: str, browser: Any, db: Database, settings: Settings, screenshot_dir: Path
) -> None:
    social = _seed_employees(db, settings)
    task_id = _seed(db, social)
    suffix = db.dialect

    boss = _sign_in(browser, live_server, "boss")
    assert boss.url.endswith("/console/dashboard")
    boss.wait_for_function("document.body.dataset.chartsReady === '1'")
    assert boss.inner_text("#backlog") == "1"
    assert boss.locator("#trend canvas").count() == 1
    boss.screenshot(path=str(screenshot_dir / f"dashboard-{suffix}.png"), full_page=True)
    assert "nav.audit" not in _nav(boss) and "nav.reviews" in _nav(boss)
    boss.goto(f"{live_server}/console/workorders")
    assert visible_label("offline") in boss.inner_text("#workorders-table")
    boss.screenshot(path=str(screenshot_dir / f"workorders-{suffix}.png"), full_page=True)

    # A reviewer of another department sees an empty queue and cannot open the task.
    other = _sign_in(browser, live_server, "other")
    assert other.url.endswith("/console/reviews")
    assert "派单复核" not in other.inner_text("#review-table")
    assert other.goto(f"{live_server}/console/reviews/{task_id}").status == 404

    reviewer = _sign_in(browser, live_server, "rev")
    assert reviewer.url.endswith("/console/reviews")
    assert _nav(reviewer) >= {"nav.reviews", "nav.employees"}
    assert "nav.dashboard" not in _nav(reviewer) and "nav.users" not in _nav(reviewer)
    reviewer.click("text=派单复核：占道经营")
    assert visible_label("offline") in reviewer.inner_text(".aigc-label")
    reviewer.screenshot(path=str(screenshot_dir / f"review-{suffix}.png"), full_page=True)
    reviewer.click("#reject")  # without a reason: refused with a message, nothing decided
    reviewer.wait_for_selector("#flash .error")
    assert "理由" in reviewer.inner_text("#flash")
    reviewer.fill("textarea[name=reason]", "单位与地址相符")
    reviewer.click("#accept")
    reviewer.wait_for_selector("#decision-status")
    assert reviewer.inner_text("#decision-status") == "accepted"
    assert visible_label("human") in reviewer.inner_text("#decision")
    with db.session() as session:
        stored = session.get(ReviewTask, task_id)
        assert stored is not None and stored.decided_by_name == "rev"
    assert reviewer.goto(f"{live_server}/console/audit").status == 403

    # Test chat with a digital employee: answered offline, labelled, stored, and rated.
    reviewer.goto(f"{live_server}/console/employees")
    reviewer.click("tr[data-employee=social-insurance-clerk] .chat-link")
    reviewer.fill("#chat-form input[name=message]", "养老保险交多少年能领养老金？")
    reviewer.click("#chat-send")
    reviewer.wait_for_selector(".msg.assistant")
    reply = reviewer.inner_text(".msg.assistant")
    assert visible_label("offline") in reply and "十五年" in reply
    reviewer.screenshot(path=str(screenshot_dir / f"chat-{suffix}.png"), full_page=True)
    reviewer.click(".msg.assistant .rate button >> text=5")
    reviewer.wait_for_selector(".rate .ok")
    with db.session() as session:
        rated = session.scalar(select(Conversation).where(Conversation.channel == "console"))
        assert rated is not None and rated.satisfaction == 5

    auditor = _sign_in(browser, live_server, "aud")
    assert _nav(auditor) == {"nav.audit"}
    assert "review.decide" in auditor.inner_text("#audit-table")
    auditor.click("#audit-verify")
    auditor.wait_for_selector("#chain-ok")
    auditor.screenshot(path=str(screenshot_dir / f"audit-{suffix}.png"), full_page=True)

    admin = _sign_in(browser, live_server, "root")
    assert "nav.audit" not in _nav(admin) and "nav.roles" not in _nav(admin)
    admin.goto(f"{live_server}/console/users")
    admin.fill("#user-create input[name=username]", "zhang")
    admin.click("#user-create button")
    admin.wait_for_selector("#one-time-password")
    admin.screenshot(path=str(screenshot_dir / f"users-{suffix}.png"), full_page=True)

    security = _sign_in(browser, live_server, "sec")
    assert _nav(security) == {"nav.roles"}
    security.select_option("#role-form select[name=username]", "zhang")
    security.select_option("#role-form select[name=role]", "viewer")
    security.click("#role-form button")
    security.wait_for_selector("#roles-table >> text=只读人员")

    english = _sign_in(browser, live_server, "rev")
    english.click("#lang-switch")
    english.wait_for_load_state("networkidle")
    assert "Review queue" in english.inner_text("#nav")
    english.click("#logout")
    english.wait_for_load_state("networkidle")
    assert "/console/login" in english.url
