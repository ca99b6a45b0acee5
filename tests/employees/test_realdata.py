"""Two shipped employees on the shared real data (skipped when ../shared/data is absent).

- the social-insurance policy adviser, offline, over four national texts from ``laws/``: the cited
  law and article must be the right ones;
- the 12345 hotline receptionist taking real citizen messages from ``hotline/``: each becomes a
  work order dispatched to the duty unit of its category, unsure ones waiting for a person.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.employees import EmployeeRuntime, service
from shuzhi.knowledge import KnowledgeService
from shuzhi.scenarios.hotline.classifier import train, training_text
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.scenarios.hotline.service import model_store
from shuzhi.storage.models import ReviewTask, WorkOrder
from shuzhi.storage.setup import open_database
from tests.employees.conftest import say

pytestmark = pytest.mark.realdata

LAWS = (
    "社会法/社会保险法(2018-12-29).md",
    "行政法规/工伤保险条例(2010-12-20).md",
    "行政法规/失业保险条例(1999-01-22).md",
    "社会法/劳动合同法(2012-12-28).md",
)
SOCIAL_INSURANCE_LAW = "《中华人民共和国社会保险法》"
QUESTIONS = [
    ("工伤认定申请交上去以后，社保部门最晚多久要给出认定结论？", {"《工伤保险条例》第二十条"}),
    ("养老保险缴费满多少年才能按月领取养老金？", {f"{SOCIAL_INSURANCE_LAW}第十六条"}),
    ("单位招了人以后多长时间内要给职工办社保登记？", {f"{SOCIAL_INSURANCE_LAW}第五十八条"}),
    ("上下班路上被车撞了，不是我的主要责任，算工伤吗？", {"《工伤保险条例》第十四条"}),
    (
        "失业保险金最长能领多久？",
        {"《失业保险条例》第十七条", f"{SOCIAL_INSURANCE_LAW}第四十六条"},
    ),
]


@pytest.fixture
def local(tmp_path: Path) -> tuple[Settings, EmployeeRuntime, KnowledgeService]:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test")
    db = open_database(settings)
    with db.session() as session:
        service.install_builtin(session, actor="test")
    knowledge = KnowledgeService(db, settings)
    return settings, EmployeeRuntime(db, settings, knowledge=knowledge), knowledge


def test_policy_adviser_cites_the_right_law_and_article_offline(
    shared_data: Path, local: tuple[Settings, EmployeeRuntime, KnowledgeService]
) -> None:
    _, runtime, knowledge = local
    knowledge.create("社会保险法规", grade="public")
    report = knowledge.import_paths("社会保险法规", [shared_data / "laws" / p for p in LAWS])
    assert report.ok and report.added == len(LAWS)

    for question, right in QUESTIONS:
        turn = say(runtime, runtime.start("social-insurance-clerk"), question)
        assert turn.mode.value == "offline" and turn.model is None
        first = turn.sources[0]["citation"]
        assert any(first.startswith(r) for r in right), (question, first)
        assert first in turn.content  # the citation is shown with the answer


def _messages(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "hotline" / "messages_labelled.csv"
    with path.open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["一级分类"] and r["留言详情"].strip()]


def test_hotline_receptionist_registers_and_routes_real_messages(
    shared_data: Path, local: tuple[Settings, EmployeeRuntime, KnowledgeService]
) -> None:
    settings, runtime, _ = local
    rows = _messages(shared_data)
    history, rest = rows[::2], rows[1::2]
    texts = [training_text(r["留言主题"], r["留言详情"]) for r in history]
    model_store(settings).save(train(texts, [r["一级分类"] for r in history], source="test"))
    seen = set(texts)
    by_class: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for row in rest:
        if training_text(row["留言主题"], row["留言详情"]) not in seen:
            by_class[row["一级分类"]].append(row)
    taken = [row for label in sorted(by_class) for row in by_class[label][:3]]
    assert len(taken) >= 18

    units = load_rules().duty.units
    right = 0
    for row in taken:
        conversation = runtime.start("hotline-receptionist", citizen_ref="citizen-test")
        text = f"{row['留言主题']}。{row['留言详情']}".strip("。")[:1500]
        turn = say(runtime, conversation, text)
        out = turn.tool_calls[0]["output"]
        assert turn.mode.value == "offline" and out["work_order"] in turn.content
        assert out["handling_unit"] == units[out["category"]] and out["deadline"]
        assert "第二十四条" in out["basis"] or out["basis"].startswith("本地工作规范")
        right += out["category"] == row["一级分类"]
    # Held-out real messages: the local classifier gets most of them right.
    assert right >= 0.75 * len(taken), f"{right}/{len(taken)}"

    with runtime.db.session() as session:
        orders = session.scalars(select(WorkOrder)).all()
        pending = {o.code for o in orders if o.status == "pending_review"}
        queued = set(
            session.scalars(
                select(ReviewTask.subject_id).where(ReviewTask.kind == "hotline_dispatch")
            )
        )
    assert len(orders) == len(taken) and pending == queued
    status = say(
        runtime,
        runtime.start("hotline-receptionist", citizen_ref="citizen-test"),
        "我的工单办理情况怎么样了",
    )
    assert status.tool_calls[0]["name"] == "my_work_orders"
    assert len(status.tool_calls[0]["output"]["orders"]) == len(taken)
