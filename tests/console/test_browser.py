"""The console in a real browser: sign in as several roles, define an employee, chat with one,
decide a review task, and check what each role can and cannot see. Screenshots of the main pages
go to tests/artifacts/screenshots/ (the path is printed)."""

from __future__ import annotations

from datetime import timedelta
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
from shuzhi.storage.models import (
    Conversation,
    Department,
    Employee,
    ModelUsage,
    ReviewTask,
    WorkOrder,
)
from tests.platform.helpers import PASSWORD, department, user

pytestmark = pytest.mark.browser


PENSION_LAW = (
    "# 社会保险法\n\n<!-- INFO END -->\n\n第十六条 参加基本养老保险的个人，达到法定退休年龄时"
    "累计缴费满十五年的，按月领取基本养老金。\n"
)
CITY_RULES = "# 市容管理办法\n\n第三条 占道经营须经城市管理部门批准。\n"

# The 城管局 admin's first try: line 1 breaks the id rule, line 4 misspells "role".
DRAFT = """\
id: Permit Helper
name: 占道审批咨询
department: {code: cg, name: 城管局}
rol: 解答占道经营审批问题
skills: [knowledge_search, handoff]
"""
FIXED = """\
id: permit-helper
name: 占道审批咨询
department: {code: cg, name: 城管局}
role: 解答占道经营、户外广告设置的审批问题，依据《城市市容和环境卫生管理条例》作答并注明条款。
skills: [knowledge_search, handoff]
knowledge_bases: [城管内部指南]
examples: [门口摆摊要审批吗]
"""


def _seed_knowledge(db: Database, settings: Settings, cg: int) -> None:
    knowledge = KnowledgeService(db, settings)
    knowledge.create("社会保险法规", grade="public")
    knowledge.import_upload("社会保险法规", "社会保险法.md", PENSION_LAW.encode())
    for name, grade in (("城管内部指南", "internal"), ("城管受限案卷", "restricted")):
        knowledge.create(name, cg, grade)
        knowledge.import_upload(name, "市容管理办法.md", CITY_RULES.encode())


def _seed_activity(session: Any, cg: int, rsj: int) -> None:
    """Two weeks of conversations and model use, and work orders decided in three ways."""
    now = utcnow()
    for day in range(14):
        for n in range(day % 4 + 1):
            conversation = Conversation(
                public_id=f"c-{day}-{n}",
                department_id=cg if n % 2 else rsj,
                created_at=now - timedelta(days=day),
                satisfaction=4 + n % 2,
                status="handed_off" if n == 3 else "open",
            )
            session.add(conversation)
    for dept, tokens, cost in ((cg, 42_000, 3.1), (rsj, 18_500, 1.4)):
        usage = ModelUsage(
            at=now,
            department_id=dept,
            prompt_tokens=tokens,
            cost=cost,
            completion_tokens=tokens // 9,
            endpoint="city-vllm",
            model="deepseek-v3",
        )
        session.add(usage)
    orders = [
        (
            "WO-1",
            "历下区泉城路商铺门口占道经营，影响行人通行，请求处理",
            "dispatched",
            "ai",
            "offline",
        ),
        ("WO-2", "小区北门夜间施工噪音扰民", "dispatched", "ai", "model"),
        ("WO-3", "路灯不亮", "dispatched", "human", "offline"),
    ]
    deadline = (now + timedelta(days=5)).date()
    for code, title, status, decided, mode in orders:
        order = WorkOrder(
            code=code,
            department_id=cg,
            title=title,
            decided_by=decided,
            mode=mode,
            status=status,
            handling_unit="历下区城管局",
            category="市容环境",
            confidence=0.82,
            deadline=deadline,
        )
        session.add(order)


def _seed_dataset(db: Database, settings: Settings, folder: Path) -> None:
    """A small register of people in 城管局, profiled and checked, for the data officer pages."""
    from shuzhi.dataofficer import service as data
    from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv

    csv = write_csv(folder / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "utf-8")
    with db.session() as session:
        cg = session.scalar(select(Department.id).where(Department.code == "cg"))
        dataset = data.register_file(session, settings, csv, title="低保对象名册", department_id=cg)
        data.profile_dataset(session, dataset)
        data.run_quality(session, dataset.id)


def _seed(db: Database, settings: Settings) -> tuple[int, int]:
    """Departments, one account per role, activity and a review task; returns the task's id and
    the social-insurance clerk's department."""
    with db.session() as session:
        installed = {e.slug: e for e in service.install_builtin(session)}
        social = installed["social-insurance-clerk"].department_id
        assert social is not None
        cg = department(session, "cg", "城管局")
        rsj = department(session, "rsj", "人社局")
        user(session, "root", (Role.SYSTEM_ADMIN, None))
        user(session, "aud", (Role.AUDIT_ADMIN, None))
        user(session, "sec", (Role.SECURITY_ADMIN, None))
        user(session, "rev", (Role.REVIEWER, cg.id), (Role.OPERATOR, social))
        user(session, "boss", (Role.DEPARTMENT_ADMIN, cg.id))
        user(session, "look", (Role.VIEWER, cg.id))
        user(session, "other", (Role.REVIEWER, rsj.id))
        _seed_activity(session, cg.id, rsj.id)
        task = review.create_review_task(
            session, cg.id, "dispatch", "work_order", "WO-1", "派单复核：占道经营",
            {"category": "市容环境", "handling_unit": "历下区城管局", "confidence": 0.41,
             "reason": "置信度低于阈值，需人工确认承办单位", "mode": "offline"},
        )  # fmt: skip
        cg_id, task_id = cg.id, task.id
    _seed_knowledge(db, settings, cg_id)
    return task_id, social


class Shots:
    def __init__(self, directory: Path, suffix: str) -> None:
        self.directory, self.suffix = directory, suffix

    def take(self, page: Any, name: str) -> None:
        page.screenshot(path=str(self.directory / f"{name}-{self.suffix}.png"), full_page=True)


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
    live_server: str,
    browser: Any,
    db: Database,
    settings: Settings,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    task_id, _ = _seed(db, settings)
    _seed_dataset(db, settings, tmp_path)
    shots = Shots(screenshot_dir, db.dialect)
    print(f"\nscreenshots: {screenshot_dir}")

    _department_admin(browser, live_server, shots)
    _work_order_page(browser, live_server, task_id, shots)
    _define_employee(browser, live_server, db, shots)
    _viewer(browser, live_server)
    _other_department(browser, live_server, task_id)
    _reviewer_decides(browser, live_server, db, task_id, shots)
    _test_chat(browser, live_server, db, shots)
    _auditor(browser, live_server, shots)
    _administrators(browser, live_server, shots)
    _english(browser, live_server)


def _department_admin(browser: Any, base: str, shots: Shots) -> None:
    boss = _sign_in(browser, base, "boss")
    assert boss.url.endswith("/console/dashboard")
    boss.wait_for_function("document.body.dataset.chartsReady === '1'")
    assert boss.inner_text("#backlog") == "3"  # the dispatch, the data grading, the catalogue
    assert boss.locator("#trend canvas").count() == 1 and boss.locator("#usage canvas").count() == 1
    shots.take(boss, "dashboard")
    assert "nav.audit" not in _nav(boss) and "nav.reviews" in _nav(boss)

    boss.goto(f"{base}/console/workorders")
    table = boss.inner_text("#workorders-table")
    assert "已派单" in table and "dispatched" not in table
    labels = boss.eval_on_selector_all(
        "#workorders-table [data-aigc]", "e => e.map(x => x.dataset.aigc)"
    )
    assert labels == ["human", "model", "offline"]  # newest first: WO-3, WO-2, WO-1
    assert visible_label("offline") in boss.inner_text("#aigc-legend")
    shots.take(boss, "workorders")

    boss.goto(f"{base}/console/knowledge")
    assert {"城管受限案卷", "城管内部指南", "社会保险法规"} <= set(
        boss.eval_on_selector_all("#kb-table tr[data-kb]", "e => e.map(x => x.dataset.kb)")
    )
    boss.fill("#kb-search input[name=query]", "占道经营")
    boss.select_option("#kb-search select[name=kb]", "城管内部指南")
    boss.click("#kb-search button")
    boss.wait_for_selector("#kb-results .msg")
    assert "第三条" in boss.inner_text("#kb-results")
    shots.take(boss, "knowledge")

    for page in ("scenarios", "models", "data", "jobs"):
        boss.goto(f"{base}/console/{page}")
        assert boss.locator("h1").count() == 1
        shots.take(boss, page)

    boss.goto(f"{base}/console/data")
    boss.click("tr[data-dataset=people] a")
    boss.wait_for_function("document.body.dataset.chartsReady === '1'")
    proposed = boss.inner_text("tr[data-field='身份证号'] td:nth-child(4)")
    assert proposed in ("重要数据", "核心数据"), "an ID-number column is never general data"
    assert boss.get_attribute("#catalogue .aigc-label", "data-aigc") in ("offline", "model")
    shots.take(boss, "dataset")


def _work_order_page(browser: Any, base: str, task_id: int, shots: Shots) -> None:
    """Filter the list with htmx, open one order, then read it on a phone-sized screen."""
    boss = _sign_in(browser, base, "boss")
    boss.goto(f"{base}/console/workorders")
    boss.fill("#workorder-filter input[name=q]", "噪音")
    boss.click("#workorder-filter button[type=submit]")
    boss.wait_for_function(
        "document.querySelectorAll('#workorders-table tr[data-order]').length === 1"
    )
    assert "q=" in boss.url and boss.locator("#workorder-filter").count() == 1, "swapped in place"
    boss.goto(f"{base}/console/workorders")
    boss.click("tr[data-order=WO-1] a.order-link")
    boss.wait_for_selector("#order-dispatch")
    assert boss.url.endswith("/console/workorders/WO-1")
    assert "历下区城管局" in boss.inner_text("tr[data-field=handling_unit]")
    assert boss.get_attribute("#order-aigc", "data-aigc") == "offline"
    assert (
        boss.get_attribute("#order-reviews a.review-link", "href") == f"/console/reviews/{task_id}"
    )
    shots.take(boss, "workorder-detail")

    boss.set_viewport_size({"width": 390, "height": 844})
    assert not boss.is_visible("#nav"), "the menu folds on a narrow screen"
    boss.click("#nav-toggle-label")
    assert boss.is_visible("#nav a[data-key='nav.workorders']")
    assert boss.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "no sideways scroll"
    shots.take(boss, "workorder-detail-narrow")


def _define_employee(browser: Any, base: str, db: Database, shots: Shots) -> None:
    boss = _sign_in(browser, base, "boss")
    boss.goto(f"{base}/console/employees")
    boss.click("#employee-new")
    assert "code: cg" in boss.input_value("#definition-text")
    boss.fill("#definition-text", DRAFT)
    boss.click("#definition-check")
    boss.wait_for_selector("#definition-problems")
    problems = boss.eval_on_selector_all(
        "#definition-problems li", "e => e.map(x => x.dataset.field + '@' + x.dataset.line)"
    )
    assert {"id@1", "rol@4", "role@1"} <= set(problems)
    assert "第 4 行" in boss.inner_text("#definition-problems")
    boss.click("#definition-problems li[data-field=rol] .goto-line")
    selected = boss.evaluate(
        "(() => { const t = document.getElementById('definition-text');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
    )
    assert selected == "rol: 解答占道经营审批问题", "the line link selects the faulty line"
    shots.take(boss, "employee-editor")

    boss.fill("#definition-text", FIXED)
    boss.click("#definition-save")
    boss.wait_for_selector("#definition-saved")
    with db.session() as session:
        row = session.scalar(select(Employee).where(Employee.slug == "permit-helper"))
        assert row is not None and row.status == "draft"

    boss.goto(f"{base}/console/employees")
    row_selector = "tr[data-employee=permit-helper]"
    assert boss.inner_text(f"{row_selector} .status") == "草稿"
    boss.fill("#lifecycle-reason", "先试用一周")
    boss.click(f"{row_selector} button[data-target=trial]")
    boss.wait_for_selector(f"{row_selector} .status[data-status=trial]")
    assert boss.locator(f"{row_selector} .chat-link").count() == 1
    shots.take(boss, "employees")


def _viewer(browser: Any, base: str) -> None:
    look = _sign_in(browser, base, "look")
    assert look.url.endswith("/console/dashboard")
    assert "nav.users" not in _nav(look) and "nav.audit" not in _nav(look)
    look.goto(f"{base}/console/knowledge")
    listed = set(
        look.eval_on_selector_all("#kb-table tr[data-kb]", "e => e.map(x => x.dataset.kb)")
    )
    assert "城管内部指南" in listed and "城管受限案卷" not in listed, "restricted: not for viewers"
    assert look.locator("#kb-upload-form").count() == 0
    look.goto(f"{base}/console/employees")
    assert look.locator("#employee-new").count() == 0
    assert look.locator("button.lifecycle").count() == 0
    look.goto(f"{base}/console/reviews")
    look.click("text=派单复核：占道经营")
    assert look.locator("#decide-form").count() == 0, "a viewer reads the queue, never decides"
    assert look.goto(f"{base}/console/employees/new").status == 403


def _other_department(browser: Any, base: str, task_id: int) -> None:
    other = _sign_in(browser, base, "other")
    assert other.url.endswith("/console/reviews")
    assert "派单复核" not in other.inner_text("#review-table")
    assert other.goto(f"{base}/console/reviews/{task_id}").status == 404


def _reviewer_decides(browser: Any, base: str, db: Database, task_id: int, shots: Shots) -> None:
    reviewer = _sign_in(browser, base, "rev")
    assert reviewer.url.endswith("/console/reviews")
    assert _nav(reviewer) >= {"nav.reviews", "nav.employees"}
    assert "nav.dashboard" not in _nav(reviewer) and "nav.users" not in _nav(reviewer)
    assert "待复核" in reviewer.inner_text("#review-table")
    shots.take(reviewer, "reviews")
    reviewer.click("text=派单复核：占道经营")
    assert visible_label("offline") in reviewer.inner_text(".aigc-label")
    assert "历下区城管局" in reviewer.inner_text("tr[data-field=handling_unit]")
    shots.take(reviewer, "review")
    reviewer.click("#reject")  # without a reason: refused with a message, nothing decided
    reviewer.wait_for_selector("#error-reason")
    assert "理由" in reviewer.inner_text("#error-reason")
    reviewer.fill("textarea[name=reason]", "单位与地址相符")
    reviewer.click("#accept")
    reviewer.wait_for_selector("#decision-status")
    assert reviewer.get_attribute("#decision-status", "data-status") == "accepted"
    assert reviewer.inner_text("#decision-status") == "已采纳"
    assert visible_label("human") in reviewer.inner_text("#decision")
    shots.take(reviewer, "review-decided")
    with db.session() as session:
        stored = session.get(ReviewTask, task_id)
        assert stored is not None and stored.decided_by_name == "rev"
    assert reviewer.goto(f"{base}/console/audit").status == 403


def _test_chat(browser: Any, base: str, db: Database, shots: Shots) -> None:
    """Answered offline, labelled, stored, and rated."""
    reviewer = _sign_in(browser, base, "rev")
    reviewer.goto(f"{base}/console/employees")
    reviewer.click("tr[data-employee=social-insurance-clerk] .chat-link")
    reviewer.fill("#chat-form input[name=message]", "养老保险交多少年能领养老金？")
    reviewer.click("#chat-send")
    reviewer.wait_for_selector(".msg.assistant")
    reply = reviewer.inner_text(".msg.assistant")
    assert visible_label("offline") in reply and "十五年" in reply
    reviewer.click(".msg.assistant .rate button >> text=5")
    reviewer.wait_for_selector(".rate .ok")
    shots.take(reviewer, "chat")
    with db.session() as session:
        rated = session.scalar(select(Conversation).where(Conversation.channel == "console"))
        assert rated is not None and rated.satisfaction == 5


def _auditor(browser: Any, base: str, shots: Shots) -> None:
    auditor = _sign_in(browser, base, "aud")
    assert _nav(auditor) == {"nav.audit"}
    table = auditor.inner_text("#audit-table")
    assert "review.decide" in table and "复核决定" in table and "employee.define" in table
    auditor.click("#audit-verify")
    auditor.wait_for_selector("#chain-ok")
    shots.take(auditor, "audit")


def _administrators(browser: Any, base: str, shots: Shots) -> None:
    admin = _sign_in(browser, base, "root")
    assert "nav.audit" not in _nav(admin) and "nav.roles" not in _nav(admin)
    admin.goto(f"{base}/console/users")
    admin.fill("#user-create input[name=username]", "zhang")
    admin.click("#user-create button")
    admin.wait_for_selector("#one-time-password")
    admin.fill("#key-create input[name=name]", "prometheus")
    admin.check("#key-create input[value=viewer]")
    admin.click("#key-create button")
    admin.wait_for_selector("#new-key")
    assert admin.inner_text("#new-key").startswith("sz-")
    shots.take(admin, "users")

    security = _sign_in(browser, base, "sec")
    assert _nav(security) == {"nav.roles"}
    security.select_option("#role-form select[name=username]", "zhang")
    security.select_option("#role-form select[name=role]", "viewer")
    security.click("#role-form button")
    security.wait_for_selector("#roles-table >> text=只读人员")
    shots.take(security, "roles")


def _english(browser: Any, base: str) -> None:
    english = _sign_in(browser, base, "rev")
    english.click("#lang-switch")
    english.wait_for_load_state("networkidle")
    assert "Review queue" in english.inner_text("#nav")
    english.click("#logout")
    english.wait_for_load_state("networkidle")
    assert "/console/login" in english.url
