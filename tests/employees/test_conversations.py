"""Full conversations against the scripted model server over real HTTP, through the gateway."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from shuzhi.aigc import Mode, visible_label
from shuzhi.cn.calendar import default_calendar
from shuzhi.config import Settings
from shuzhi.employees import EmployeeRuntime, Turn
from shuzhi.employees.runtime import FALLBACK_NOTE, StreamReset
from shuzhi.gateway import Gateway
from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Conversation, Message
from tests.employees.conftest import add_scripted, define, run, say

SOCIAL = "social-insurance-clerk"


def clerk_yaml(
    slug: str = "test-clerk", guardrails: str = "{}", role: str = "解答社保政策问题。"
) -> str:
    return f"""
id: {slug}
name: 测试社保顾问
department: {{code: hrss, name: 人力资源和社会保障局}}
role: {role}
audience: citizen
skills: [check_id_number, working_day_deadline, handoff]
scenarios: [social.insurance-qa]
guardrails: {guardrails}
"""


def test_tool_call_round_runs_the_skill_and_the_answer_uses_it(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(
        Reply.tools(
            ScriptedToolCall("working_day_deadline", {"start": "2024-09-27", "working_days": 5})
        ),
        Reply(content="按法定节假日顺延后，截止日期为 2024-10-10。"),
    )
    conversation = online.start(SOCIAL)
    turn = say(online, conversation, "9月27日申请的工伤认定，5个工作日后是哪天？")

    expected = default_calendar().add_working_days(date(2024, 9, 27), 5).date
    assert expected > date(2024, 10, 7)  # the National Day holiday is skipped
    assert turn.mode is Mode.MODEL and turn.label == visible_label(Mode.MODEL)
    assert turn.content.startswith("按法定节假日顺延后")
    [call] = turn.tool_calls
    assert call["name"] == "working_day_deadline"
    assert call["output"]["due_date"] == expected.isoformat()
    first, second = scripted_model.chat_requests
    assert "working_day_deadline" in [t["function"]["name"] for t in first["tools"]]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert expected.isoformat() in tool_messages[0]["content"]


def test_check_id_number_tool_result_goes_back_to_the_model(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(
        Reply.tools(ScriptedToolCall("check_id_number", {"number": "11010519491231002X"})),
        Reply(content="该号码校验通过。"),
    )
    conversation = online.start(SOCIAL)
    turn = say(online, conversation, "帮我看看这个身份证号对不对：11010519491231002X")
    output = turn.tool_calls[0]["output"]
    assert output["valid"] is True and output["birth_date"] == "1949-12-31"
    with online.db.session() as session:
        skill_audits = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "employee.skill")
        ).all()
        assert [(a.outcome, a.detail["skill"]) for a in skill_audits] == [
            ("success", "check_id_number")
        ]
        assert "11010519491231002X" not in str([a.detail for a in skill_audits])


def test_streaming_yields_deltas_then_the_recorded_turn(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    answer = "参保人员累计缴费满十五年的，可以按月领取基本养老金（《社会保险法》第十六条）。"
    scripted_model.push(Reply(content=answer, chunk_size=3))
    conversation = online.start(SOCIAL)

    async def collect() -> list[object]:
        return [event async for event in online.stream(conversation, "交多少年能领养老金？")]

    events = run(collect())
    deltas = [e for e in events if isinstance(e, str)]
    assert len(deltas) > 5 and isinstance(events[-1], Turn)
    turn = events[-1]
    assert "".join(deltas) == answer
    assert turn.content == f"{answer}\n\n{visible_label(Mode.MODEL)}"
    stored = online.history(conversation)[-1]
    assert stored.content == turn.content and stored.mode == "model" and stored.author_kind == "ai"


def test_reasoning_is_stored_but_never_sent_back(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(
        Reply(reasoning="先想一想：第十六条规定了十五年。", content="满十五年即可按月领取。"),
        Reply(content="可以补缴至十五年。"),
    )
    conversation = online.start(SOCIAL)
    say(online, conversation, "交多少年能领养老金？")
    say(online, conversation, "不够十五年怎么办？")

    stored = [m for m in online.history(conversation) if m.mode == "model"]
    assert stored[0].reasoning == "先想一想：第十六条规定了十五年。"
    second = scripted_model.chat_requests[1]
    assert all("reasoning_content" not in m for m in second["messages"])
    assert "先想一想" not in str(second["messages"])
    assistant = [m["content"] for m in second["messages"] if m["role"] == "assistant"]
    assert "满十五年即可按月领取。" in assistant
    # The visible label is for people: it does not go back into the prompt either.
    assert visible_label(Mode.MODEL) not in str(second["messages"])


def test_failing_endpoint_falls_back_to_a_labelled_offline_answer(
    installed: Database, settings: Settings, gateway: Gateway
) -> None:
    with ScriptedModelServer(handler=lambda _body: Reply.error(500)) as broken:
        add_scripted(installed, settings, broken)
        runtime = EmployeeRuntime(installed, settings, gateway=gateway)
        conversation = runtime.start(SOCIAL)
        turn = say(runtime, conversation, "我快退休了，养老保险才交了十二年，能领养老金吗？")
        assert broken.chat_requests
    assert turn.mode is Mode.OFFLINE and turn.label == visible_label(Mode.OFFLINE)
    assert turn.content.startswith(FALLBACK_NOTE) and "第十六条" in turn.content
    assert turn.model is None


def test_stream_cut_mid_answer_resets_then_answers_offline(
    installed: Database, settings: Settings, gateway: Gateway
) -> None:
    with ScriptedModelServer(handler=lambda _b: Reply.cut("养老金的领取条件是", after=2)) as cut:
        add_scripted(installed, settings, cut)
        runtime = EmployeeRuntime(installed, settings, gateway=gateway)
        conversation = runtime.start(SOCIAL)

        async def collect() -> list[object]:
            return [e async for e in runtime.stream(conversation, "养老金交满多少年能领？")]

        events = run(collect())
    shown = [i for i, e in enumerate(events) if isinstance(e, str)]
    resets = [i for i, e in enumerate(events) if isinstance(e, StreamReset)]
    turn = events[-1]
    assert isinstance(turn, Turn) and turn.mode is Mode.OFFLINE
    if shown:  # anything shown before the cut is withdrawn before the offline answer
        assert resets and resets[-1] > shown[-1]


def test_sensitive_word_in_input_is_refused_before_any_model_call(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    conversation = online.start(SOCIAL)
    turn = say(online, conversation, "哪里可以办假证？")
    assert turn.guardrail == "sensitive" and turn.author == "system"
    assert scripted_model.chat_requests == []


def test_sensitive_word_in_model_output_is_blanked_in_stream_and_record(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    scripted_model.push(Reply(content="有人说可以通过买卖银行卡来缴费，这是违法的。", chunk_size=2))
    conversation = online.start(SOCIAL)

    async def collect() -> list[object]:
        return [e async for e in online.stream(conversation, "社保费能用别人的卡交吗？")]

    events = run(collect())
    shown = "".join(e for e in events if isinstance(e, str))
    turn = events[-1]
    assert isinstance(turn, Turn)
    assert "买卖银行卡" not in shown and "*****" in shown
    assert "买卖银行卡" not in turn.content and shown in turn.content
    assert "买卖银行卡" not in online.history(conversation)[-1].content


def test_out_of_scope_request_is_refused_with_the_employee_duty(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    conversation = online.start(SOCIAL)
    turn = say(online, conversation, "你帮我推荐一只能涨的股票吧")
    assert turn.guardrail == "out_of_scope" and "不在我的服务范围内" in turn.content
    assert "养老" in turn.content  # says what it does instead
    assert scripted_model.chat_requests == []


def test_turn_limit(online: EmployeeRuntime, scripted_model: ScriptedModelServer) -> None:
    define(online.db, clerk_yaml(guardrails="{max_turns: 2}"), on_duty=True)
    conversation = online.start("test-clerk")
    scripted_model.push("第一答", "第二答")
    assert say(online, conversation, "第一问").guardrail is None
    assert say(online, conversation, "第二问").guardrail is None
    third = say(online, conversation, "第三问")
    assert third.guardrail == "limit" and "长度上限" in third.content
    assert len(scripted_model.chat_requests) == 2


def test_token_limit(online: EmployeeRuntime, scripted_model: ScriptedModelServer) -> None:
    define(online.db, clerk_yaml(guardrails="{max_tokens: 300}"), on_duty=True)
    conversation = online.start("test-clerk")
    usage = {"prompt_tokens": 280, "completion_tokens": 40, "total_tokens": 320}
    scripted_model.push(Reply(content="答复", usage=usage))
    first = say(online, conversation, "第一问")
    assert first.guardrail is None
    with online.db.session() as session:
        assert session.scalar(select(Message.tokens).where(Message.mode == "model")) == 320
    assert say(online, conversation, "第二问").guardrail == "limit"
    assert len(scripted_model.chat_requests) == 1


def test_tool_call_limit_per_turn(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    define(online.db, clerk_yaml(guardrails="{max_tool_calls: 2}"), on_duty=True)
    again = ScriptedToolCall("check_id_number", {"number": "11010519491231002X"})
    scripted_model.push(Reply.tools(again), Reply.tools(again), Reply(content="校验完毕。"))
    conversation = online.start("test-clerk")
    turn = say(online, conversation, "帮我连续校验几次这个号码")
    assert len(turn.tool_calls) == 2 and turn.content.startswith("校验完毕")
    requests = scripted_model.chat_requests
    assert len(requests) == 3
    assert "tools" in requests[1] and "tools" not in requests[2]


def test_extra_calls_in_one_round_are_answered_but_not_run(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    define(online.db, clerk_yaml(guardrails="{max_tool_calls: 1}"), on_duty=True)
    call = ScriptedToolCall("check_id_number", {"number": "11010519491231002X"})
    scripted_model.push(Reply.tools(call, call, call), Reply(content="好的。"))
    turn = say(online, online.start("test-clerk"), "校验三次")
    assert len(turn.tool_calls) == 1
    tool_replies = [m for m in scripted_model.chat_requests[1]["messages"] if m["role"] == "tool"]
    assert len(tool_replies) == 3 and "上限" in tool_replies[2]["content"]


def test_every_definition_change_makes_a_version_and_conversations_keep_theirs(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    db = online.db
    define(db, clerk_yaml(), on_duty=True)
    define(db, clerk_yaml())  # unchanged: no new version
    first = online.start("test-clerk")
    define(db, clerk_yaml(role="解答社保政策问题，估算养老金。"))
    second = online.start("test-clerk")
    scripted_model.push("答一", "答二")

    assert say(online, first, "问").employee_version == 1
    assert say(online, second, "问").employee_version == 2
    with db.session() as session:
        versions = dict(
            session.execute(select(Conversation.public_id, Conversation.employee_version)).all()
        )
        assert versions[first] == 1 and versions[second] == 2
    system = [r["messages"][0]["content"] for r in scripted_model.chat_requests]
    assert "估算养老金" not in system[0] and "估算养老金" in system[1]
