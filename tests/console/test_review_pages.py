"""What a newcomer found missing on the review pages and in the console's labels: a task's work
order and candidates, paging of the queue, labels of places, of the dashboard and of a dispatch
by the trained classifier, and the bare address of the server."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from shuzhi.aigc import CLASSIFIER_LABEL, VISIBLE_LABELS, Mode, visible_label
from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.console.web import label
from shuzhi.platform import review
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.extract import extract_location
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import WorkOrder
from tests.console.test_pages import _signed_in
from tests.platform.helpers import department, user

CODE = "HL-20240501-0007"
PROPOSAL = {
    "category": "城乡建设",
    "handling_unit": "市住房和城乡建设局",
    "confidence": 0.4123456789012345,
    "candidates": [["城乡建设", 0.4123456789012345], ["交通运输", 0.3376543210987654]],
    "model": "hotline-dispatch-v2",
    "mode": "offline",
    "reason": "置信度 0.41 低于阈值，需人工确认分类和承办单位",
}


def _order(code: str, dept: int, **fields: Any) -> WorkOrder:
    values: dict[str, Any] = {
        "code": code,
        "department_id": dept,
        "title": "泉城路人行道被占用",
        "text": "泉城路一段人行道长期堆放建材，行人只能走机动车道。请尽快处理。",
        "requester_masked": "王**（138****5678）",
        "category": "城乡建设",
        "handling_unit": "市住房和城乡建设局",
        "status": "pending_review",
        "decided_by": "ai",
        "mode": "offline",
        "model": "hotline-dispatch-v2",
        "confidence": 0.41,
    }
    return WorkOrder(**(values | fields))


def _seed(db: Database) -> dict[str, int]:
    with db.session() as session:
        cg = department(session, "cg", "城管局").id
        rsj = department(session, "rsj", "人社局").id
        user(session, "rev", (Role.REVIEWER, cg))
        user(session, "boss", (Role.DEPARTMENT_ADMIN, cg))
        session.add(_order(CODE, cg))
        session.add(_order("RS-1", rsj, title="社保断缴", text="人社局的诉求，不应出现在城管局。"))
        session.flush()
    return {"cg": cg, "rsj": rsj}


def _task(db: Database, dept: int, kind: str, subject: tuple[str, str], proposal: Any) -> int:
    with db.session() as session:
        task = review.create_review_task(
            session, dept, kind, subject[0], subject[1], f"复核：{subject[1]}", proposal
        )
        return task.id


# 1. a task's page ---------------------------------------------------------------------------


def test_a_dispatch_task_shows_the_citizens_message_a_link_and_a_candidate_table(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    task_id = _task(db, ids["cg"], "hotline_dispatch", ("work_order", CODE), PROPOSAL)
    client, _ = _signed_in(settings, db, "rev")

    page = client.get(f"/console/reviews/{task_id}").text

    message = page.split('id="review-message"', 1)[1].split("</section>", 1)[0]
    assert "泉城路人行道被占用" in message and "行人只能走机动车道" in message
    assert "王**（138****5678）" in message
    assert f'<a href="/console/workorders/{CODE}" id="subject-link">工单 {CODE}</a>' in page
    rows = re.findall(
        r'<tr data-candidate="([^"]+)"><td>[^<]+</td><td>([^<]+)</td><td class="num">([^<]+)</td>',
        page,
    )
    assert rows == [("城乡建设", "市住房和城乡建设局", "41%"), ("交通运输", "市交通运输局", "34%")]
    assert "0.4123456789" not in page.split('id="proposal"', 1)[0], "raw floats only in the JSON"
    confidence = re.search(r'<tr data-field="confidence"><th>[^<]+</th><td>([^<]+)</td>', page)
    assert confidence is not None and confidence.group(1) == "41%"


def test_a_dispatch_by_the_trained_classifier_is_labelled_as_such(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    task_id = _task(db, ids["cg"], "hotline_dispatch", ("work_order", CODE), PROPOSAL)
    keywords = PROPOSAL | {"model": "scenario:hotline.work-order-dispatch"}
    rules_id = _task(db, ids["cg"], "hotline_dispatch", ("work_order", CODE), keywords)
    client, _ = _signed_in(settings, db, "rev")

    by_classifier = client.get(f"/console/reviews/{task_id}").text
    by_rules = client.get(f"/console/reviews/{rules_id}").text

    assert CLASSIFIER_LABEL in by_classifier and "离线（历史工单训练的分类模型）" in by_classifier
    assert visible_label("offline") not in by_classifier
    assert visible_label("offline") in by_rules and CLASSIFIER_LABEL not in by_rules


def test_a_task_about_no_work_order_keeps_its_plain_page(settings: Settings, db: Database) -> None:
    ids = _seed(db)
    grading = _task(db, ids["cg"], "data.grading", ("dataset", "7"), {"grades": {"a": "一般"}})
    lost = _task(db, ids["cg"], "hotline_dispatch", ("work_order", "HL-GONE"), PROPOSAL)
    elsewhere = _task(db, ids["cg"], "hotline_dispatch", ("work_order", "RS-1"), PROPOSAL)
    client, _ = _signed_in(settings, db, "rev")

    for task_id, subject in ((grading, "dataset:7"), (lost, "work_order:HL-GONE"),
                             (elsewhere, "work_order:RS-1")):  # fmt: skip
        page = client.get(f"/console/reviews/{task_id}")
        assert page.status_code == 200, page.text
        assert f'<span id="review-subject">{subject}</span>' in page.text
        assert 'id="review-message"' not in page.text and "人社局的诉求" not in page.text
    grades = client.get(f"/console/reviews/{grading}").text.split('<tr data-field="grades">')[1]
    assert grades.split("</tr>")[0].count("<pre>") == 1, "other nested values stay JSON"


# 2. the queue's pages -----------------------------------------------------------------------


def _queue_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a href="/console/reviews/(\d+)">', page)]


def _many_tasks(db: Database, dept: int, pending: int, accepted: int) -> None:
    now = utcnow()
    with db.session() as session:
        for n in range(pending + accepted):
            task = review.create_review_task(
                session, dept, "hotline_dispatch", "work_order", f"Q-{n}", f"第{n}项",
                {"category": "城乡建设"}, due_at=now + timedelta(hours=n - 9.5),
            )  # fmt: skip
            if n >= pending:
                task.status = "accepted"


def test_the_queue_counts_every_task_and_pages_fifty_at_a_time(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    _many_tasks(db, ids["cg"], pending=230, accepted=5)
    client, _ = _signed_in(settings, db, "rev")

    first = client.get("/console/reviews").text
    pages = [client.get("/console/reviews", params={"page": n}).text for n in range(1, 6)]

    assert 'data-total="230"' in first and "共 230 项，当前显示第 1–50 项" in first
    assert [len(_queue_ids(p)) for p in pages] == [50, 50, 50, 50, 30]
    every = [i for p in pages for i in _queue_ids(p)]
    assert len(set(every)) == 230, "no task twice, none left out"
    assert _queue_ids(pages[1]) != _queue_ids(pages[0])
    assert "第 5 / 5 页" in pages[4] and 'rel="next"' not in pages[4]
    assert _queue_ids(client.get("/console/reviews", params={"page": "99"}).text) == _queue_ids(
        pages[4]
    )


def test_page_links_keep_the_status_and_overdue_filters(settings: Settings, db: Database) -> None:
    ids = _seed(db)
    _many_tasks(db, ids["cg"], pending=60, accepted=5)  # ten of the pending are overdue
    client, _ = _signed_in(settings, db, "rev")

    every = client.get("/console/reviews", params={"status": ""}).text
    link = re.search(r'<a href="([^"]+)" rel="next">', every)
    late = client.get("/console/reviews", params={"overdue": "true"}).text

    assert 'data-total="65"' in every and link is not None
    assert link.group(1).replace("&amp;", "&") == "/console/reviews?status=&page=2"
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert len(_queue_ids(second)) == 15 and 'data-total="65"' in second
    assert 'data-total="10"' in late and 'id="pager"' not in late
    with db.session() as session:
        for n in range(60, 120):
            review.create_review_task(
                session, ids["cg"], "hotline_dispatch", "work_order", f"L-{n}", f"迟{n}",
                {}, due_at=utcnow() - timedelta(hours=1),
            )  # fmt: skip
    late = client.get("/console/reviews", params={"overdue": "true"}).text
    link = re.search(r'<a href="([^"]+)" rel="next">', late)
    assert 'data-total="70"' in late and link is not None
    expected = "/console/reviews?status=pending&overdue=true&page=2"
    assert link.group(1).replace("&amp;", "&") == expected


# 3. labels ---------------------------------------------------------------------------------


def test_every_place_the_extractor_finds_has_a_label_in_both_languages() -> None:
    found = extract_location("A市B3区文化街道历山路阳光花园小区门口积水")

    assert set(found) == {"city", "district", "street", "road", "estate"}
    for key in found:
        assert label("location", key, "zh") != key and label("location", key, "en") != key, key


def test_an_order_page_names_the_city_and_the_classifier(settings: Settings, db: Database) -> None:
    with db.session() as session:
        cg = department(session, "cg", "城管局").id
        user(session, "rev", (Role.REVIEWER, cg))
        session.add(_order(CODE, cg, location={"city": "A市", "district": "B3区"}))
        session.add(_order("WX-1", cg, model="scenario:hotline.work-order-dispatch"))
    client, _ = _signed_in(settings, db, "rev")

    page = client.get(f"/console/workorders/{CODE}").text
    keywords = client.get("/console/workorders/WX-1").text
    listing = client.get("/console/workorders").text

    assert "城市：A市" in page and "city：" not in page
    assert 'data-decider="classifier" id="order-aigc">' + CLASSIFIER_LABEL in page
    decided = re.search(r'<tr data-field="decided_by"><th>[^<]+</th><td>([^<]+)</td>', page)
    assert decided is not None and decided.group(1) == "离线（历史工单训练的分类模型）"
    assert "(离线（历史工单训练的分类模型）)" in page, "the model version names it too"
    assert 'data-decider="offline" id="order-aigc">' + visible_label("offline") in keywords
    legend = listing.split('id="aigc-legend"', 1)[1]
    assert CLASSIFIER_LABEL in legend and visible_label("offline") in legend


def test_the_classifier_label_changes_no_other_label() -> None:
    assert visible_label("offline") == VISIBLE_LABELS[Mode.OFFLINE] != CLASSIFIER_LABEL
    assert visible_label("model", classifier=True) == VISIBLE_LABELS[Mode.MODEL]
    assert visible_label("human", classifier=True) == VISIBLE_LABELS[Mode.HUMAN]
    assert visible_label("offline", classifier=True) == CLASSIFIER_LABEL


def test_the_dashboard_names_the_dispatch_rate_for_what_it_counts(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    with db.session() as session:
        session.add(_order("HL-2", ids["cg"], status="dispatched"))
    client, _ = _signed_in(settings, db, "boss")

    zh = client.get("/console/dashboard").text
    client.get("/console/lang/en", headers={"referer": "http://x/console/dashboard"})
    en = client.get("/console/dashboard").text

    figure = re.search(r'id="automation"[^>]*><b>([^<]+)</b><span>([^<]+)</span>', zh)
    assert figure is not None and figure.groups() == ("50.0%", "自动派单率")
    assert "自动办结率" not in zh and "未经人工复核" in zh
    assert "Auto-dispatch rate" in en and "Automation rate" not in en


# 4. the bare address ------------------------------------------------------------------------


def test_a_browser_at_the_bare_address_is_sent_to_the_console(
    settings: Settings, db: Database
) -> None:
    client = TestClient(create_app(settings, db))
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

    opened = client.get("/", headers=browser, follow_redirects=False)
    curl = client.get("/", headers={"Accept": "*/*"}, follow_redirects=False)
    api = client.get("/", headers={"Accept": "application/json"})
    landed = client.get("/", headers=browser)

    assert opened.status_code == 303 and opened.headers["location"] == "/console/"
    assert curl.status_code == 303
    assert api.status_code == 404 and api.json()["error"]["message"] == "没有这个地址"
    assert landed.status_code == 200 and landed.url.path == "/console/login"
    assert client.head("/", follow_redirects=False).status_code == 303


def test_an_account_that_may_read_but_not_decide_is_told_who_decides(
    settings: Settings, db: Database
) -> None:
    ids = _seed(db)
    with db.session() as session:
        user(session, "root", (Role.SYSTEM_ADMIN, None))
    task_id = _task(db, ids["cg"], "hotline_dispatch", ("work_order", CODE), PROPOSAL)

    admin, _ = _signed_in(settings, db, "root")
    page = admin.get(f"/console/reviews/{task_id}").text
    assert 'id="cannot-decide"' in page and "须由“城管局”的复核人员或部门管理员决定" in page
    reviewer, _ = _signed_in(settings, db, "rev")
    assert 'id="cannot-decide"' not in reviewer.get(f"/console/reviews/{task_id}").text
