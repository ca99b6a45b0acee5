"""The console's work orders: pages, filters (with and without htmx), department scope, and one
order's page with its dispatch, reply, review tasks and audit trail."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.aigc import visible_label
from shuzhi.config import Settings
from shuzhi.console.workorder_list import OrderFilter, Page, page_number
from shuzhi.platform import review
from shuzhi.platform.audit import audit
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord, ReviewTask, WorkOrder
from tests.console.test_pages import _signed_in
from tests.platform.helpers import department, user

LIST = "/console/workorders"
HTMX = {"HX-Request": "true", "HX-Target": "workorder-results"}
CATEGORIES = ("城乡建设", "环境保护", "交通运输")
UNITS = {"城乡建设": "市住房和城乡建设局", "环境保护": "市生态环境局", "交通运输": "市交通运输局"}


def _today() -> date:
    from shuzhi.console.web import CHINA

    return utcnow().astimezone(CHINA).date()


def _order(code: str, dept: int, n: int, **fields: Any) -> WorkOrder:
    category = CATEGORIES[n % 3]
    values: dict[str, Any] = {
        "code": code,
        "department_id": dept,
        "title": f"第{n}号诉求：{category}问题",
        "text": f"市民反映{category}方面的问题，编号{n}。",
        "category": category,
        "handling_unit": UNITS[category],
        "urgency": "urgent" if n % 10 == 0 else "normal",
        "status": "dispatched" if n % 2 else "pending_review",
        "deadline": _today() + timedelta(days=5),
        "confidence": 0.8,
    }
    return WorkOrder(**(values | fields))


def _seed(db: Database) -> dict[str, int]:
    """120 orders of 城管局 (CG-001 … CG-120), three of 人社局, one viewer and one admin."""
    with db.session() as session:
        cg = department(session, "cg", "城管局").id
        rsj = department(session, "rsj", "人社局").id
        user(session, "clerk", (Role.VIEWER, cg))
        user(session, "root", (Role.SYSTEM_ADMIN, None))
        session.add_all(_order(f"CG-{n:03d}", cg, n) for n in range(1, 121))
        session.add_all(_order(f"RS-{n}", rsj, n, title=f"人社诉求{n}") for n in range(1, 4))
    return {"cg": cg, "rsj": rsj}


def _codes(page: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)"', page)


def _total(page: str) -> int:
    found = re.search(r'id="workorder-count" data-total="(\d+)"', page)
    assert found is not None
    return int(found.group(1))


def test_the_list_pages_fifty_orders_at_a_time_within_the_department(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    client, _ = _signed_in(settings, db, "clerk")

    first = client.get(LIST).text
    third = client.get(LIST, params={"page": "3"}).text

    assert _total(first) == 120 and "共 120 条，当前显示第 1–50 条" in first
    assert _codes(first) == [f"CG-{n:03d}" for n in range(120, 70, -1)]  # newest first
    assert _codes(third) == [f"CG-{n:03d}" for n in range(20, 0, -1)]
    assert 'data-page="2"' in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "第 3 / 3 页" in third and 'rel="next"' not in third
    assert _codes(client.get(LIST, params={"page": "99"}).text) == _codes(third)
    assert _codes(client.get(LIST, params={"page": "abc"}).text) == _codes(first)
    every = {c for p in ("1", "2", "3") for c in _codes(client.get(LIST, params={"page": p}).text)}
    assert len(every) == 120 and not any(c.startswith("RS-") for c in every)


def test_an_administrator_of_every_department_sees_every_order(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    client, _ = _signed_in(settings, db, "root")

    assert _total(client.get(LIST).text) == 123
    assert _codes(client.get(LIST, params={"q": "人社诉求"}).text) == ["RS-3", "RS-2", "RS-1"]


def test_each_filter_narrows_the_list(settings: Settings, db: Database) -> None:
    ids = _seed(db)
    with db.session() as session:
        late = _order("CG-LATE", ids["cg"], 7, deadline=_today() - timedelta(days=1))
        done = _order("CG-DONE", ids["cg"], 8, deadline=_today() - timedelta(days=3))
        done.status = "closed"
        other = _order("RS-LATE", ids["rsj"], 9, deadline=_today() - timedelta(days=1))
        session.add_all([late, done, other])
    client, _ = _signed_in(settings, db, "clerk")

    def total(**params: str) -> int:
        return _total(client.get(LIST, params=params).text)

    assert total(status="pending_review") == 60  # the even numbers
    assert total(category="环境保护") == 41  # CG-LATE too
    assert total(unit="市交通运输局") == 41  # CG-DONE too
    assert total(urgency="urgent") == 12
    assert total(urgency="urgent", category="城乡建设") == 4
    assert _codes(client.get(LIST, params={"overdue": "1"}).text) == ["CG-LATE"]
    assert _codes(client.get(LIST, params={"q": "编号117"}).text) == ["CG-117"]
    assert _codes(client.get(LIST, params={"q": "cg-11"}).text)[0] == "CG-119"
    assert total(q="100%") == 0  # a percent sign is a character, not a wildcard
    empty = client.get(LIST, params={"category": "不存在的分类"}).text
    assert "没有符合筛选条件的工单" in empty and 'id="clear-filters"' in empty


def test_filters_survive_paging_as_links_and_as_htmx_swaps(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    client, _ = _signed_in(settings, db, "clerk")

    page = client.get(LIST, params={"status": "dispatched", "q": "诉求"}).text
    link = re.search(r'<a href="(/console/workorders\?[^"]+)" hx-get="[^"]+"[^>]*rel="next"', page)
    assert link is not None and _total(page) == 60
    second_url = link.group(1).replace("&amp;", "&")
    assert "status=dispatched" in second_url and "page=2" in second_url
    assert 'name="q" value="诉求"' in page and '<option value="dispatched" selected>' in page

    plain = client.get(second_url).text
    swapped = client.get(second_url, headers=HTMX)

    assert _codes(plain) == [f"CG-{n:03d}" for n in range(19, 0, -2)]
    assert (
        "<html" in plain and "<html" not in swapped.text and "workorder-filter" not in swapped.text
    )
    assert _codes(swapped.text) == _codes(plain) and swapped.headers["Vary"] == "HX-Target"
    history = client.get(
        second_url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in history.text, "a history restore needs the whole page"


def test_the_filter_model_reads_and_writes_query_strings() -> None:
    filters = OrderFilter.from_query(
        {"status": " dispatched ", "urgency": "bogus", "overdue": "on"}
    )

    assert filters == OrderFilter(status="dispatched", overdue=True)
    assert filters.query_string(page=3) == "status=dispatched&overdue=1&page=3"
    assert OrderFilter().query_string(page=1) == "" and not OrderFilter().active
    assert Page(5, 1000).links() == [1, None, 3, 4, 5, 6, 7, None, 20]
    assert Page(1, 0).count == 1 and Page(1, 0).first_row == 0
    assert [page_number(v) for v in ("2", "0", "-1", "x", None)] == [2, 1, 1, 1, 1]
    # Not ASCII digits, or more than int() takes: no 500 (both raised ValueError).
    assert [page_number(v) for v in ("\u00b2", "\u0663", "1" + "0" * 5000)] == [1, 1, 10**9]


def _detailed_order(session: Session, dept: int) -> int:
    order = _order(
        "CG-D1",
        dept,
        1,
        title="泉城路商铺占道经营",
        text="泉城路商铺门口占道经营，影响通行。请尽快处理。",
        requester_masked="138****5678",
        location={"district": "历下区", "road": "泉城路"},
        category_path=["城乡建设", "市容环境", "占道经营"],
        order_type="complaint",
        confidence=0.41,
        model="hotline-nb-v3",
        mode="offline",
        sources=[
            {"kind": "rule", "citation": "《济南市12345市民服务热线条例》第二十五条：5个工作日"}
        ],
        details={
            "candidates": [["城乡建设", 0.41], ["环境保护", 0.3]],
            "demands": ["请尽快处理"],
            "reply_draft": {"mode": "offline", "by": "ai"},
        },
        reply="【AI 生成】您好！您反映的问题已收悉。",
        reply_status="pending_approval",
    )
    session.add(order)
    task = review.create_review_task(
        session, dept, "hotline_dispatch", "work_order", "CG-D1", "派单复核：占道经营",
        {"category": "城乡建设", "handling_unit": "市住房和城乡建设局", "mode": "offline"},
    )  # fmt: skip
    audit(session, "hotline.reply.draft", actor="boss", target="CG-D1", department_id=dept)
    audit(session, "hotline.reply.draft", actor="boss", target="CG-OTHER", department_id=dept)
    return task.id


def test_an_order_page_shows_every_field_its_reviews_and_its_trail(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    with db.session() as session:
        task_id = _detailed_order(session, ids["cg"])
    client, _ = _signed_in(settings, db, "clerk")

    listing = client.get(LIST, params={"q": "占道"}).text
    assert 'href="/console/workorders/CG-D1"' in listing
    page = client.get("/console/workorders/CG-D1")

    assert page.status_code == 200
    text = page.text
    for shown in (
        "138****5678",
        "区县：历下区",
        "道路：泉城路",
        "城乡建设 › 市容环境 › 占道经营",
        "投诉",
        "《济南市12345市民服务热线条例》第二十五条：5个工作日",
        "41%",
        "hotline-nb-v3",
        "请尽快处理",
        "【AI 生成】您好！您反映的问题已收悉。",
        "答复待审核",
    ):
        assert shown in text, shown
    assert visible_label("offline") in text and 'data-aigc="offline"' in text
    assert f'href="/console/reviews/{task_id}"' in text
    trail = re.findall(r'<tr data-audit="([^"]+)"', text)
    assert trail == ["review.create", "hotline.reply.draft"], "only this order's records"
    assert "(北京时间)" in text


def test_another_departments_order_and_an_unknown_code_read_as_missing(
    settings: Settings, db: Database
) -> None:
    _seed(db)
    client, _ = _signed_in(settings, db, "clerk")

    for code in ("RS-1", "NO-SUCH"):
        page = client.get(f"/console/workorders/{code}", headers={"Accept": "text/html"})
        assert page.status_code == 404 and f"没有工单 {code}" in page.text
        assert "人社诉求" not in page.text and "<html" in page.text
    assert client.get("/console/workorders/batches").status_code == 200, "the batch page stays"


def test_an_operator_asks_for_a_reply_draft_from_the_order_page(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    with db.session() as session:
        user(session, "op", (Role.OPERATOR, ids["cg"]))
        session.add(
            _order("CG-NEW", ids["cg"], 4, title="小区路灯不亮", text="小区路灯不亮，请修理")
        )
    viewer, _ = _signed_in(settings, db, "clerk")
    assert 'id="reply-draft-button"' not in viewer.get("/console/workorders/CG-NEW").text
    client, csrf = _signed_in(settings, db, "op")
    page = client.get("/console/workorders/CG-NEW").text
    assert 'hx-post="/console/workorders/CG-NEW/reply-draft"' in page and "起草答复" in page

    headers = {"HX-Request": "true", "X-CSRF-Token": csrf}
    assert client.post("/console/workorders/CG-NEW/reply-draft").status_code == 403, "no token"
    done = client.post("/console/workorders/CG-NEW/reply-draft", headers=headers)
    assert done.status_code == 204
    # A new address, not just a fragment: a browser only scrolls for a changed fragment.
    assert done.headers["HX-Redirect"] == "/console/workorders/CG-NEW?drafted=1#order-reply"

    page = client.get("/console/workorders/CG-NEW", params={"drafted": "1"}).text
    assert (
        'id="reply-drafted"' in page
        and "答复待审核" in page
        and 'data-aigc="offline"' in page
        and "重新起草答复" in page
    )
    with db.session() as session:
        order = session.query(WorkOrder).filter_by(code="CG-NEW").one()
        tasks = session.query(ReviewTask).filter_by(kind="hotline_reply").all()
        assert order.reply_status == "pending_approval" and order.reply
        assert [t.subject_id for t in tasks] == ["CG-NEW"] and tasks[0].proposed_by == "ai"
        actors = [
            (r.action, r.actor) for r in session.query(AuditRecord).filter_by(target="CG-NEW")
        ]
        assert ("hotline.reply.draft", "op") in actors
        order.reply_status = "approved"  # a reviewer approved it since
    refused = client.post("/console/workorders/CG-NEW/reply-draft", headers=headers)
    assert refused.status_code == 409 and "已审核通过" in refused.text
    assert 'id="reply-draft-button"' not in client.get("/console/workorders/CG-NEW").text
    other = client.post("/console/workorders/RS-1/reply-draft", headers=headers)
    assert other.status_code == 404, "another department's order reads as missing"
