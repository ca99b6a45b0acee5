"""Review decisions from forms: a dispatch decided with two menus, a reply with a text box, the
raw JSON kept as the advanced editor, and problems shown next to the input they concern."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

from shuzhi.config import Settings
from shuzhi.platform import review
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import ReviewTask, WorkOrder
from tests.console.test_pages import _signed_in
from tests.platform.helpers import department, user

DISPATCH = {
    "category": "城乡建设",
    "handling_unit": "市住房和城乡建设局",
    "confidence": 0.41,
    "candidates": [["城乡建设", 0.41], ["环境保护", 0.35]],
    "model": "hotline-nb-v1",
    "mode": "offline",
    "reason": "置信度 0.41 低于阈值，需人工确认分类和承办单位",
}
DRAFT = "您好！您反映的问题已收悉。\n1. 关于“清理垃圾”：【请填写核实情况、处理结果】"
REPLY = {"text": DRAFT, "labelled_text": "【AI 生成】\n\n" + DRAFT, "mode": "offline"}


def _task(db: Database, kind: str, proposal: dict[str, Any]) -> int:
    with db.session() as session:
        dept = department(session, "hotline", "12345市民服务热线办公室")
        user(session, "rev", (Role.REVIEWER, dept.id))
        session.add(WorkOrder(code="HL-1", department_id=dept.id, title="垃圾未清理",
                              category="城乡建设", handling_unit="市住房和城乡建设局",
                              status="pending_review"))  # fmt: skip
        task = review.create_review_task(session, dept.id, kind, "work_order", "HL-1", "复核",
                                         proposal)  # fmt: skip
        return task.id


def _decide(client: TestClient, csrf: str, task_id: int, **form: str) -> Any:
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    return client.post(f"/console/reviews/{task_id}/decision", data=form, headers=headers)


def _stored(db: Database, task_id: int) -> tuple[ReviewTask, WorkOrder]:
    with db.session() as session:
        task = session.get(ReviewTask, task_id)
        order = session.query(WorkOrder).filter_by(code="HL-1").one()
        assert task is not None
        session.expunge_all()
        return task, order


def _problem(page: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="error-{name}" role="alert">([^<]+)<', page)
    assert found is not None, name
    return found.group(1)


def test_a_dispatch_is_edited_with_menus_and_the_server_builds_the_content(
    settings: Settings, db: Database
) -> None:
    task_id = _task(db, "hotline_dispatch", DISPATCH)
    client, csrf = _signed_in(settings, db, "rev")

    page = client.get(f"/console/reviews/{task_id}").text
    assert '<select name="category" id="input-category">' in page
    assert '<option value="环境保护">环境保护（35%）</option>' in page
    assert '<option value="市生态环境局">市生态环境局</option>' in page
    assert '<details id="advanced">' in page, "the JSON editor is folded when a form exists"

    done = _decide(client, csrf, task_id, action="edit", reason="诉求是油烟污染",
                   category="环境保护", handling_unit="市生态环境局")  # fmt: skip

    assert done.status_code == 200, done.text
    task, order = _stored(db, task_id)
    assert task.status == "edited" and task.decision is not None
    assert task.decision["content"] == {"category": "环境保护", "handling_unit": "市生态环境局"}
    assert (order.category, order.handling_unit, order.decided_by) == (
        "环境保护",
        "市生态环境局",
        "human",
    )


def test_a_changed_category_alone_takes_the_unit_of_the_duty_list(
    settings: Settings, db: Database
) -> None:
    task_id = _task(db, "hotline_dispatch", DISPATCH)
    client, csrf = _signed_in(settings, db, "rev")

    done = _decide(client, csrf, task_id, action="edit", reason="属于交通问题",
                   category="交通运输", handling_unit="市住房和城乡建设局")  # fmt: skip

    assert done.status_code == 200
    task, order = _stored(db, task_id)
    assert task.decision is not None
    assert task.decision["content"]["handling_unit"] == "市交通运输局" == order.handling_unit


def test_problems_are_shown_next_to_their_inputs_and_nothing_is_decided(
    settings: Settings, db: Database
) -> None:
    task_id = _task(db, "hotline_dispatch", DISPATCH)
    client, csrf = _signed_in(settings, db, "rev")

    refused = _decide(client, csrf, task_id, action="edit", category="火星事务",
                      handling_unit="市生态环境局")  # fmt: skip
    same = _decide(client, csrf, task_id, action="edit", reason="看过了", **{
        k: DISPATCH[k] for k in ("category", "handling_unit")})  # fmt: skip

    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#review-body"
    assert "须填写理由" in _problem(refused.text, "reason")
    assert _problem(refused.text, "category") == "请从列表中选择（收到“火星事务”）"
    assert '<option value="市生态环境局" selected>' in refused.text, "the input is kept"
    assert "同意建议请点“采纳”" in _problem(same.text, "category")
    task, _ = _stored(db, task_id)
    assert task.status == "pending"


def test_a_reply_is_rewritten_in_a_text_box(settings: Settings, db: Database) -> None:
    task_id = _task(db, "hotline_reply", REPLY)
    client, csrf = _signed_in(settings, db, "rev")
    page = client.get(f"/console/reviews/{task_id}").text
    assert '<textarea name="text" id="input-text" rows="10">' in page and "【请填写核实情况" in page

    unfinished = _decide(client, csrf, task_id, action="edit", reason="补充", text=DRAFT + "。")
    written = "您好！垃圾已于12月3日清理完毕，今后每日清运。"
    done = _decide(client, csrf, task_id, action="edit", reason="写明处理结果", text=written)

    assert "未填写的模板内容“【请填写核实情况、处理结果】”" in _problem(unfinished.text, "text")
    assert done.status_code == 200
    task, order = _stored(db, task_id)
    assert task.decision is not None and task.decision["content"] == {"text": written}
    assert (order.reply, order.reply_status) == (written, "approved")


def test_a_kind_without_a_form_keeps_the_json_editor_open(settings: Settings, db: Database) -> None:
    task_id = _task(db, "dispatch", {"unit": "城管局", "mode": "offline"})
    client, csrf = _signed_in(settings, db, "rev")
    page = client.get(f"/console/reviews/{task_id}").text
    assert '<details id="advanced" open>' in page and 'id="edit"' not in page

    broken = _decide(client, csrf, task_id, action="edit_json", reason="改单位", edited='{"unit": ')
    listed = _decide(client, csrf, task_id, action="edit_json", reason="改单位", edited="[1]")
    done = _decide(client, csrf, task_id, action="edit_json", reason="改单位",
                   edited='{"unit": "历下区城管局"}')  # fmt: skip

    assert "不是有效的 JSON" in _problem(broken.text, "edited") and "第 1 行" in broken.text
    assert "应为 JSON 对象" in _problem(listed.text, "edited")
    assert done.status_code == 200
    task, _ = _stored(db, task_id)
    assert task.status == "edited" and task.decision is not None
    assert task.decision["content"] == {"unit": "历下区城管局"}


def test_the_advanced_json_editor_also_decides_a_dispatch(settings: Settings, db: Database) -> None:
    task_id = _task(db, "hotline_dispatch", DISPATCH)
    client, csrf = _signed_in(settings, db, "rev")

    done = _decide(client, csrf, task_id, action="edit_json", reason="按职责清单",
                   edited='{"category": "民政", "handling_unit": "市民政局"}',
                   category="城乡建设", handling_unit="市住房和城乡建设局")  # fmt: skip

    assert done.status_code == 200
    _, order = _stored(db, task_id)
    assert (order.category, order.handling_unit) == ("民政", "市民政局")


def _untouched(db: Database, task_id: int) -> WorkOrder:
    task, order = _stored(db, task_id)
    assert (task.status, task.decision, task.reason) == ("pending", None, None)
    assert (order.category, order.handling_unit, order.status, order.reply) == (
        "城乡建设",
        "市住房和城乡建设局",
        "pending_review",
        None,
    )
    return order


def test_the_json_editor_cannot_send_a_dispatch_outside_the_lists(
    settings: Settings, db: Database
) -> None:
    task_id = _task(db, "hotline_dispatch", DISPATCH)
    client, csrf = _signed_in(settings, db, "rev")
    edits = {
        '{"category": "不存在的分类", "handling_unit": "火星管理局"}': [
            "分类（category）：请从列表中选择（收到“不存在的分类”）",
            "承办单位（handling_unit）：请从列表中选择（收到“火星管理局”）",
        ],
        '{"category": 12345, "handling_unit": ["a"]}': ["请从列表中选择（收到 12345", '["a"]'],
        '{"a": NaN}': ["a：值是 NaN，JSON 不能含 NaN 或 Infinity"],
        '{"category": "城乡建设\\u0000"}': ["category：不能含控制字符（第 5 个字符是 U+0000）"],
    }

    for edited, expected in edits.items():
        refused = _decide(client, csrf, task_id, action="edit_json", reason="改", edited=edited)
        assert refused.status_code == 422, refused.text
        shown = html.unescape(_problem(refused.text, "edited"))
        assert all(e in shown for e in expected), (edited, shown)
        assert '<details id="advanced" open>' in refused.text, "the editor opens on its problem"
    _untouched(db, task_id)


def test_a_reply_with_placeholders_or_control_characters_is_not_approved(
    settings: Settings, db: Database
) -> None:
    task_id = _task(db, "hotline_reply", REPLY)
    client, csrf = _signed_in(settings, db, "rev")
    written = "您好！垃圾已于12月3日清理完毕，今后每日清运。"

    accepted = _decide(client, csrf, task_id, action="accept")
    tail = _decide(client, csrf, task_id, action="edit", reason="补充",
                   text="您好！垃圾已清理，并写明完成时限】")  # fmt: skip
    bell = _decide(client, csrf, task_id, action="edit", reason="补充", text="您好\x07！已清理。")
    escape = _decide(client, csrf, task_id, action="edit", reason="补\x1b[0m充", text=written)
    long = _decide(client, csrf, task_id, action="edit", reason="补充", text="已清理。" * 22500)

    assert accepted.status_code == 422
    assert "未填写的模板内容“【请填写核实情况、处理结果】”" in _problem(accepted.text, "text")
    assert "未填写的模板内容“并写明完成时限”" in _problem(tail.text, "text")
    assert _problem(bell.text, "text").startswith("不能含控制字符（第 3 个字符是 U+0007）")
    assert _problem(escape.text, "reason").startswith("不能含控制字符（第 2 个字符是 U+001B）")
    assert _problem(long.text, "text") == "最多 5000 个字符（现有 90000 个），请精简后再提交"
    order = _untouched(db, task_id)
    assert order.reply_status is None


def test_a_reply_proposal_reads_in_words_not_keys(settings: Settings, db: Database) -> None:
    sources = [{"kind": "rule", "citation": "《济南市12345市民服务热线条例》第二十四条"}]
    proposal = {**REPLY, "sources": sources, "demands": ["清理垃圾", "今后按时清运"]}
    task_id = _task(db, "hotline_reply", proposal)
    client, _ = _signed_in(settings, db, "rev")
    page = client.get(f"/console/reviews/{task_id}").text
    shown = page.split('id="proposal"', 1)[0]  # the raw JSON is kept below, folded

    for key, label in (("text", "答复内容"), ("sources", "依据"), ("demands", "诉求要点")):
        assert re.search(rf'<tr data-field="{key}"><th>{label}</th>', shown), key
    assert "<pre>《济南市12345市民服务热线条例》第二十四条</pre>" in shown
    assert "<pre>清理垃圾\n今后按时清运</pre>" in shown
    assert '"citation"' not in shown
