"""Model-backed steps against the scripted OpenAI-compatible server (never a real model)."""

from __future__ import annotations

from shuzhi.aigc import Mode
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.scenarios import OpenAIEndpointModel, run_scenario


def test_a_model_polishes_the_draft_and_the_result_says_so(
    scripted_model: ScriptedModelServer,
) -> None:
    scripted_model.push(
        Reply(content="您好：累计缴费满十五年可按月领取养老金（《社会保险法》第十六条）。")
    )
    model = OpenAIEndpointModel(scripted_model.base_url, "deepseek-chat")
    result = run_scenario(
        "social.insurance-qa", {"question": "养老保险要交满十五年吗"}, gateway=model
    )

    assert result.mode is Mode.MODEL
    assert result.models == ["deepseek-chat"]
    assert result.outputs["draft"].startswith("您好")
    assert "人工智能生成" in result.label
    sent = scripted_model.chat_requests[0]["messages"][-1]["content"]
    assert "第十六条" in sent, "the grounded template draft is what the model rewrites"


def test_a_failing_model_falls_back_to_the_offline_draft(
    scripted_model: ScriptedModelServer,
) -> None:
    scripted_model.push(Reply.error(500), Reply.error(500))
    model = OpenAIEndpointModel(scripted_model.base_url, "deepseek-chat")
    result = run_scenario(
        "approval.service-guide-qa", {"question": "许可申请多久能办完"}, gateway=model
    )

    assert result.mode is Mode.OFFLINE
    assert "第四十二条" in result.outputs["draft"]
    assert result.warnings == ["模型润色失败，已使用模板草稿"]


def test_steps_without_model_flag_stay_offline_even_with_a_model(
    scripted_model: ScriptedModelServer,
) -> None:
    model = OpenAIEndpointModel(scripted_model.base_url, "deepseek-chat")
    result = run_scenario(
        "social.pension-estimate",
        {
            "contribution_years": 30,
            "average_index": 1,
            "local_average_wage": 7000,
            "account_balance": 150000,
            "retirement_age": 60,
        },
        gateway=model,
    )
    assert result.mode is Mode.OFFLINE
    assert scripted_model.chat_requests == []
