"""No model endpoint: answers from knowledge with citations, routing, and saying when nothing fits;
the front desk routes offline by similarity, and with a model when one is configured."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shuzhi.aigc import Mode, visible_label
from shuzhi.config import Settings
from shuzhi.employees import EmployeeRuntime, service
from shuzhi.employees.runtime import NOTHING_FITS, NOTHING_FOUND
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.knowledge import KnowledgeService
from shuzhi.storage.db import Database
from shuzhi.storage.models import Conversation, Employee, WorkOrder
from tests.employees.conftest import define, reviewer, say

LAW = """# 中华人民共和国社会保险法

<!-- INFO END -->

第十六条 参加基本养老保险的个人，达到法定退休年龄时累计缴费满十五年的，按月领取基本养老金。

第四十六条 失业前用人单位和本人累计缴费满一年不足五年的，领取失业保险金的期限最长为十二个月。

第五十八条 用人单位应当自用工之日起三十日内为其职工向社会保险经办机构申请办理社会保险登记。
"""


def _with_laws(db: Database, settings: Settings) -> EmployeeRuntime:
    knowledge = KnowledgeService(db, settings)
    knowledge.create("社会保险法规", grade="public")
    knowledge.import_upload("社会保险法规", "社会保险法(2018-12-29).md", LAW.encode())
    return EmployeeRuntime(db, settings, knowledge=knowledge)


def _owner(db: Database, conversation: str) -> str:
    with db.session() as session:
        row = session.scalar(select(Conversation).where(Conversation.public_id == conversation))
        assert row is not None
        employee = session.get(Employee, row.employee_id)
        assert employee is not None
        return employee.slug


def test_offline_answer_from_knowledge_cites_the_article(
    installed: Database, settings: Settings
) -> None:
    runtime = _with_laws(installed, settings)
    conversation = runtime.start("social-insurance-clerk")
    turn = say(runtime, conversation, "失业保险金最长能领多少个月？")
    assert turn.mode is Mode.OFFLINE and turn.model is None
    assert turn.content.endswith(visible_label(Mode.OFFLINE))
    assert turn.sources[0]["citation"].startswith("《中华人民共和国社会保险法》第四十六条")
    assert "十二个月" in turn.content and "第四十六条" in turn.content
    stored = runtime.history(conversation)[-1]
    assert stored.mode == "offline" and stored.sources == turn.sources


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("社会保险法第999条怎么规定？", "没有第999条"),
        ("刑法第二十条怎么规定？", "所查知识库中没有《刑法》"),
    ],
)
def test_offline_answer_says_what_the_knowledge_lacks_instead_of_another_article(
    installed: Database, settings: Settings, message: str, said: str
) -> None:
    runtime = _with_laws(installed, settings)
    conversation = runtime.start("social-insurance-clerk")
    turn = say(runtime, conversation, message)
    assert said in turn.content and turn.sources == []
    assert "第十六条" not in turn.content and "第四十六条" not in turn.content


def test_offline_without_knowledge_uses_the_answering_scenario(offline: EmployeeRuntime) -> None:
    conversation = offline.start("social-insurance-clerk")
    turn = say(offline, conversation, "入职两个月单位还不给交社保，参保登记有期限吗？")
    assert turn.mode is Mode.OFFLINE and "三十日" in turn.content
    assert any("第五十八条" in s["citation"] for s in turn.sources)


def test_offline_routes_to_one_of_its_scenarios_or_says_nothing_fits(
    offline: EmployeeRuntime,
) -> None:
    define(
        offline.db,
        """
id: labour-clerk
name: 劳动关系顾问
department: {code: hrss, name: 人力资源和社会保障局}
role: 解答劳动关系问题。
scenarios: [social.maternity-leave, social.severance-pay]
""",
        on_duty=True,
    )
    conversation = offline.start("labour-clerk")
    routed = say(offline, conversation, "公司要和我解除劳动合同，经济补偿怎么算？")
    assert routed.routed_to is not None and routed.routed_to["id"] == "social.severance-pay"
    assert "解除劳动合同经济补偿测算" in routed.content and "办理时需要提供" in routed.content
    assert routed.mode is Mode.OFFLINE
    nothing = say(offline, conversation, "量子力学的波函数坍缩是什么意思")
    assert nothing.routed_to is None and nothing.content.startswith(NOTHING_FOUND)
    assert "转人工" in nothing.content


def test_front_desk_routes_offline_and_hands_the_conversation_over(
    offline: EmployeeRuntime,
) -> None:
    conversation = offline.start("front-desk")
    turn = say(offline, conversation, "养老保险交满多少年才能领养老金")
    assert turn.routed_to is not None and turn.routed_to["id"] == "social-insurance-clerk"
    assert "社保政策顾问" in turn.content and turn.mode is Mode.OFFLINE
    assert _owner(offline.db, conversation) == "social-insurance-clerk"
    answered = say(offline, conversation, "养老保险交满多少年才能领养老金")
    assert "第十六条" in answered.content  # now the clerk answers


def test_front_desk_sends_a_street_light_to_the_hotline_and_says_when_nothing_fits(
    offline: EmployeeRuntime,
) -> None:
    light = offline.start("front-desk")
    turn = say(offline, light, "路灯坏了好几天没人修")
    assert turn.routed_to is not None and turn.routed_to["id"] == "hotline-receptionist"
    unknown = offline.start("front-desk")
    nothing = say(offline, unknown, "量子力学的波函数坍缩")
    assert nothing.routed_to is None and nothing.content.startswith(NOTHING_FITS)
    # A scenario's own "unrelated question" case is not an example of what it serves.
    weather = say(offline, offline.start("front-desk"), "今天天气怎么样")
    assert weather.routed_to is None and weather.content.startswith(NOTHING_FITS)
    assert _owner(offline.db, unknown) == "front-desk"


def test_front_desk_never_hands_citizens_to_staff_only_employees(
    offline: EmployeeRuntime,
) -> None:
    turn = say(offline, offline.start("front-desk"), "我要办营业执照需要什么材料")
    assert turn.routed_to is None or turn.routed_to["id"] != "approval-clerk"


def test_front_desk_with_a_model_lets_it_choose_among_the_candidates(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push("hotline-receptionist", "none", "我觉得你应该去问问别人")
    picked = online.start("front-desk")
    turn = say(online, picked, "我们楼下的饭馆油烟很大")
    assert turn.mode is Mode.MODEL and turn.routed_to is not None
    assert turn.routed_to["id"] == "hotline-receptionist" and turn.model == "deepseek-chat"
    assert _owner(online.db, picked) == "hotline-receptionist"
    prompt = scripted_model.chat_requests[0]["messages"]
    assert "hotline-receptionist" in prompt[1]["content"] and "油烟" in prompt[1]["content"]
    assert "tools" not in scripted_model.chat_requests[0]

    none = say(online, online.start("front-desk"), "帮我写一首诗")
    assert none.mode is Mode.MODEL and none.content.startswith(NOTHING_FITS)

    unreadable = say(online, online.start("front-desk"), "养老保险交满多少年才能领养老金")
    assert unreadable.mode is Mode.OFFLINE  # the model's reply named no candidate
    assert unreadable.routed_to is not None
    assert unreadable.routed_to["id"] == "social-insurance-clerk"


STAFF_HELPER = """id: policy-notes
name: 政策口径助手
department: {code: hrss, name: 人力资源和社会保障局}
audience: staff
role: 为经办人员查询内部政策口径。
knowledge_bases: [社会保险法规]
"""


def test_knowledge_follows_the_grade_the_audience_may_read(
    installed: Database, settings: Settings
) -> None:
    knowledge = KnowledgeService(installed, settings)
    knowledge.create("社会保险法规", grade="internal")  # an internal base: staff only
    knowledge.import_upload("社会保险法规", "社会保险法(2018-12-29).md", LAW.encode())
    define(installed, STAFF_HELPER)
    with installed.session() as session:  # on trial: staff may use it, citizens may not
        service.transition(session, "policy-notes", "trial", "test", "测试")
    runtime = EmployeeRuntime(installed, settings, knowledge=knowledge)
    question = "失业保险金最长能领多少个月？"

    to_citizen = say(runtime, runtime.start("social-insurance-clerk"), question)
    clerk = reviewer(installed, "hrss", "wang-clerk")
    to_staff = say(runtime, runtime.start("policy-notes", user_id=clerk.user_id), question)

    assert to_citizen.sources == [] and "第四十六条" not in to_citizen.content
    assert to_staff.sources[0]["citation"].startswith("《中华人民共和国社会保险法》第四十六条")


def test_a_message_of_invisible_characters_is_empty_and_nul_is_dropped(
    offline: EmployeeRuntime,
) -> None:
    import pytest

    from shuzhi.errors import InvalidInput

    conversation = offline.start("social-insurance-clerk")
    with pytest.raises(InvalidInput, match="消息内容不能为空"):
        say(offline, conversation, "  \u200b\u200b\ufeff ")
    say(offline, conversation, "失业保险\x00金能领多久")
    stored = [m.content for m in offline.history(conversation) if m.role == "user"]
    assert stored == ["失业保险金能领多久"]


def test_an_order_title_cut_from_the_message_never_keeps_part_of_a_phone_number(
    offline: EmployeeRuntime,
) -> None:
    """The title is the message's first 30 characters: cut after masking, not before."""
    message = "小区楼下烧烤店每天噪音到凌晨两点，我电话13912345678，请尽快处理"
    assert message.index("139") < 30 < message.index("139") + 11, "the cut falls inside it"
    say(offline, offline.start("hotline-receptionist"), message)
    with offline.db.session() as session:
        titles = list(session.scalars(select(WorkOrder.title)))
    assert titles and all(not re.search(r"\d{5,}", t or "") for t in titles), titles
