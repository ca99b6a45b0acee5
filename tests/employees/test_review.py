"""Handoff and human review: a task in the department queue, a decision, the conversation on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shuzhi.aigc import Mode, visible_label
from shuzhi.employees import EmployeeRuntime
from shuzhi.errors import InvalidInput
from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall
from shuzhi.platform import review
from shuzhi.storage.models import Conversation, Department, ReviewTask
from tests.employees.conftest import reviewer, say

SOCIAL = "social-insurance-clerk"


def _task(runtime: EmployeeRuntime, task_id: int) -> ReviewTask:
    with runtime.db.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        return task


def _status(runtime: EmployeeRuntime, conversation: str) -> str:
    with runtime.db.session() as session:
        row = session.scalar(select(Conversation).where(Conversation.public_id == conversation))
        assert row is not None
        return row.status


def test_keyword_handoff_queues_a_task_with_a_deadline_and_an_edit_continues_it(
    offline: EmployeeRuntime,
) -> None:
    conversation = offline.start(SOCIAL)
    turn = say(offline, conversation, "我的情况比较复杂，转人工")
    assert turn.review_task_id is not None and _status(offline, conversation) == "handed_off"

    task = _task(offline, turn.review_task_id)
    with offline.db.session() as session:
        hrss = session.scalar(select(Department.id).where(Department.code == "hrss"))
    assert task.kind == "handoff" and task.department_id == hrss and task.status == "pending"
    assert task.due_at is not None
    assert abs((task.due_at - task.created_at) - timedelta(hours=4)) < timedelta(minutes=1)
    assert task.proposal["question"] == "我的情况比较复杂，转人工"
    with offline.db.session() as session:
        queue = review.list_tasks(session, review.Queue({hrss}))
        assert [t.id for t in queue] == [task.id]

    waiting = say(offline, conversation, "我再补充一下，我是灵活就业人员")
    assert "已转交工作人员" in waiting.content and waiting.review_task_id is None

    person = reviewer(offline.db, "hrss")
    answer = "灵活就业人员可以以个人身份参加职工养老保险，请携带身份证到社保经办窗口办理。"
    with offline.db.session() as session:
        review.decide(
            session, task.id, person, "edit", reason="补充办理方式", edited={"answer": answer}
        )

    last = offline.history(conversation)[-1]
    assert last.author_kind == "human" and last.mode == "human"
    assert last.content == f"{answer}\n\n{visible_label(Mode.HUMAN)}"
    assert last.sources[0]["review_task_id"] == task.id
    assert last.sources[0]["decided_by"] == "li-reviewer"
    decided = _task(offline, task.id)
    assert decided.proposal["question"] and decided.decision["content"] == {"answer": answer}
    assert _status(offline, conversation) == "open"
    resumed = say(offline, conversation, "养老保险交满多少年能领养老金？")
    assert resumed.author == "ai" and "第十六条" in resumed.content


def test_model_handoff_skill_with_a_draft_accepted_by_a_person(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    draft = "您的工伤认定申请已超过60日未作出决定，可向上级部门反映。"
    scripted_model.push(
        Reply.tools(ScriptedToolCall("handoff", {"reason": "涉及个人权益认定", "draft": draft})),
        Reply(content="已为您转人工，工作人员会尽快答复。"),
    )
    conversation = online.start(SOCIAL)
    turn = say(online, conversation, "我的工伤认定两个多月了还没结果，怎么办？")
    assert turn.mode is Mode.MODEL and turn.review_task_id is not None
    assert _status(online, conversation) == "handed_off"
    task = _task(online, turn.review_task_id)
    assert task.proposal["answer"] == draft
    assert task.proposal["question"] == "我的工伤认定两个多月了还没结果，怎么办？"

    before = len(scripted_model.chat_requests)
    assert "已转交" in say(online, conversation, "请快点").content
    assert len(scripted_model.chat_requests) == before  # a person has it: no model call

    with online.db.session() as session:
        review.decide(session, task.id, reviewer(online.db, "hrss"), "accept")
    human = online.history(conversation)[-1]
    assert human.author_kind == "human" and human.content.startswith(draft)
    decided = _task(online, task.id)
    assert decided.status == "accepted" and decided.decision["content"]["answer"] == draft


def test_rejected_handoff_tells_the_citizen_the_reason(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(
        Reply.tools(ScriptedToolCall("handoff", {"reason": "需要人工", "draft": "可以领取。"})),
        Reply(content="已转人工。"),
    )
    conversation = online.start(SOCIAL)
    task_id = say(online, conversation, "失业金我能领吗？").review_task_id
    assert task_id is not None
    with online.db.session() as session, pytest.raises(InvalidInput, match="理由"):
        review.decide(session, task_id, reviewer(online.db, "hrss"), "reject")
    with online.db.session() as session:
        person = reviewer(online.db, "hrss", "wang-reviewer")
        review.decide(session, task_id, person, "reject", reason="您的缴费未满一年，暂不符合条件")
    human = online.history(conversation)[-1]
    assert human.author_kind == "human" and "缴费未满一年" in human.content
    assert "可以领取" not in human.content
    assert _task(online, task_id).proposal["answer"] == "可以领取。"
    assert _status(online, conversation) == "open"


def test_handoff_deadline_comes_from_the_definition(offline: EmployeeRuntime) -> None:
    from tests.employees.conftest import define

    define(
        offline.db,
        """
id: quick-clerk
name: 快速转人工
department: {code: hrss, name: 人力资源和社会保障局}
role: 解答社保问题。
scenarios: [social.insurance-qa]
handoff: {due_in_hours: 1}
""",
        on_duty=True,
    )
    turn = say(offline, offline.start("quick-clerk"), "人工服务")
    assert turn.review_task_id is not None
    task = _task(offline, turn.review_task_id)
    assert task.due_at is not None
    assert abs((task.due_at - task.created_at) - timedelta(hours=1)) < timedelta(minutes=1)
