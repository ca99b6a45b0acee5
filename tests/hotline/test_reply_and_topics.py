from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shuzhi.scenarios.hotline.batch import BatchJob
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.hotspots import hot_topics
from shuzhi.scenarios.hotline.reply import (
    FILL_IN,
    TO_VERIFY,
    check_reply,
    draft_reply,
    unfilled_placeholder,
)
from shuzhi.scenarios.hotline.rules import load_rules

RULES = load_rules()
MESSAGE = "A3区锦绣花园小区门口路灯坏了一个月。希望尽快修复路灯！请问什么时候能修好？"


def test_offline_draft_answers_each_demand_and_cites_the_regulation() -> None:
    draft = draft_reply(
        title="路灯不亮",
        text=MESSAGE,
        requester="A0***01",
        handling_unit="市城市管理局",
        order_type="complaint",
        rules=RULES,
        search=lambda q: [("《城市照明管理规定》第二十条", "城市照明设施应当保持完好。")],
    )
    assert draft.mode == "offline" and draft.status == "pending_approval"
    assert draft.decided_by == "ai" and draft.model is None
    assert (
        "1. 关于“希望尽快修复路灯！”" in draft.text
        and "2. 关于“请问什么时候能修好？”" in draft.text
    )
    assert draft.text.rstrip().endswith("市城市管理局")
    citations = [s["citation"] for s in draft.sources]
    assert "《济南市12345市民服务热线条例》第二十四条" in citations
    assert "《济南市12345市民服务热线条例》第三十二条" in citations  # complaint: confidentiality
    assert "《城市照明管理规定》第二十条" in citations
    assert draft.labelled_text.startswith("【AI辅助·离线】")


def test_model_written_draft_is_labelled_as_model_output() -> None:
    prompts: list[str] = []

    def writer(prompt: str) -> tuple[str, str]:
        prompts.append(prompt)
        return "您好！经核实，路灯已于9月5日修复。", "deepseek-chat"

    draft = draft_reply(
        title="",
        text=MESSAGE,
        requester=None,
        handling_unit="市城市管理局",
        order_type="help",
        rules=RULES,
        writer=writer,
    )
    assert draft.mode == "model" and draft.model == "deepseek-chat"
    assert "第二十四条" in prompts[0] and "希望尽快修复路灯" in prompts[0]


def test_reply_check_passes_a_good_reply() -> None:
    good = "您好！您反映的锦绣花园小区门口路灯问题，我局已于9月5日修复路灯，今后将定期巡查。"
    check = check_reply(
        MESSAGE,
        good,
        rules=RULES,
        received_at=datetime(2019, 9, 2, 2, tzinfo=UTC),
        replied_at=datetime(2019, 9, 6, 2, tzinfo=UTC),
    )
    assert check.flags == [] and check.working_days_taken == 4


def test_reply_check_flags_each_failure() -> None:
    check = check_reply(
        MESSAGE,
        "您好！我单位高度重视，将进一步加强管理。",
        rules=RULES,
        received_at=datetime(2019, 9, 2, 2, tzinfo=UTC),
        replied_at=datetime(2019, 9, 16, 2, tzinfo=UTC),
    )
    assert check.flags == ["missed_demand", "no_commitment", "late"]
    assert check.working_days_taken == 9 and check.notes


def test_hot_topics_rank_volume_votes_and_name_the_place(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    rows = ["留言编号,留言时间,留言主题,留言详情,点赞数"]
    for i in range(5):
        rows.append(
            f"a{i},2019/11/{i + 1} 10:00:00,丽发新城搅拌站噪音扰民,"
            f"A2区丽发新城小区附近搅拌站噪音污染严重第{i}次反映，粉尘很大,{i}"
        )
    for i in range(3):
        rows.append(
            f"b{i},2019/11/{i + 2} 10:00:00,伊景园滨河苑捆绑销售车位,"
            f"A3区伊景园滨河苑捆绑销售车位，开发商强制购买车位,40"
        )
    rows.append("c0,2019/11/3 10:00:00,公积金咨询,请问公积金怎么提取,0")
    path = tmp_path / "votes.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")

    orders = BatchJob(classifier).run(path).orders
    topics = hot_topics(orders)
    assert [t.messages for t in topics] == [3, 5]  # 40 votes each outweigh two more messages
    assert "伊景园滨河苑" in topics[0].name and topics[0].votes_up == 120
    assert "丽发新城" in topics[1].name and len(topics[1].examples) == 3
    assert hot_topics(orders, window_days=1)[0].messages == 2  # only 3 and 4 Nov


def test_every_trace_of_a_template_placeholder_is_found() -> None:
    draft = draft_reply(title="路灯不亮", text=MESSAGE, requester=None,
                        handling_unit="市城市管理局", order_type="help", rules=RULES)  # fmt: skip
    assert unfilled_placeholder(draft.text) == FILL_IN  # the template's own placeholder
    traces = {
        "您好！路灯已修复，并写明完成时限】": "并写明完成时限",  # the head deleted
        "您好！路灯写明完成时】已修复": "路灯写明完成时】",  # a lone bracket
        "您好！【处理结果】已修复": "【处理结果】",  # a span with the placeholder's words
        "您好！【请填写核实：已修复": "【请填写核实",
        "您好！关于路灯，【待核实】。": TO_VERIFY,  # the model's marker
    }
    for text, trace in traces.items():
        assert unfilled_placeholder(text) == trace, text
    for written in (
        draft.text.replace(FILL_IN, "已于9月5日修复。"),
        "【AI辅助·离线】\n\n您好！路灯已于9月5日修复。",  # the AI label is no placeholder
        "【温馨提示】具体情况仍待核实，核实后3个工作日内告知您。",
    ):
        assert unfilled_placeholder(written) is None, written
