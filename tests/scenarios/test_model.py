"""Model-backed steps against the scripted OpenAI-compatible server (never a real model)."""

from __future__ import annotations

import json

from sqlalchemy import select

from shuzhi.aigc import Mode
from shuzhi.config import Settings
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import EndpointSpec, add_endpoint
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.scenarios import OpenAIEndpointModel, run_scenario
from shuzhi.storage.db import Database
from shuzhi.storage.models import ModelUsage


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


def test_through_the_gateway_personal_data_is_masked_and_usage_recorded(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    spec = EndpointSpec(name="scripted", base_url=scripted_model.base_url, model="deepseek-chat")
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
    scripted_model.push(Reply(content="累计缴费满十五年的，可以按月领取基本养老金。"))
    gateway = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    try:
        question = "我电话13812345678，身份证370102199001011231，养老保险要交满十五年吗"
        result = run_scenario("social.insurance-qa", {"question": question}, gateway=gateway)
    finally:
        gateway.close()

    assert result.mode is Mode.MODEL
    sent = json.dumps(scripted_model.chat_requests[0], ensure_ascii=False)
    assert "13812345678" not in sent and "370102199001011231" not in sent
    with db.session() as session:
        usage = session.scalars(select(ModelUsage)).all()
        assert [(u.caller_kind, u.caller_id) for u in usage] == [
            ("scenario", "social.insurance-qa")
        ]


def test_a_gateway_without_endpoints_means_offline(db: Database, settings: Settings) -> None:
    gateway = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    try:
        result = run_scenario(
            "approval.service-guide-qa", {"question": "许可多久办完"}, gateway=gateway
        )
    finally:
        gateway.close()
    assert result.mode is Mode.OFFLINE and result.models == []
