"""The gateway against scripted endpoints over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.errors import ModelError, NoModelConfigured, NotFound
from shuzhi.gateway import Caller, ChatChunk, ChatRequest, Gateway
from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall
from shuzhi.privacy import Vault
from shuzhi.storage.db import Database
from shuzhi.storage.models import ModelUsage

from .conftest import add, alias

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def ask(text: str = "你好", **fields: Any) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **fields)


def usage_rows(gateway: Gateway) -> list[ModelUsage]:
    assert gateway.flush_usage()
    with gateway.db.session() as session:
        return list(session.scalars(select(ModelUsage).order_by(ModelUsage.id)))


async def collect(gateway: Gateway, request: ChatRequest) -> list[ChatChunk]:
    return [chunk async for chunk in gateway.stream(request)]


def test_no_endpoint_fails_fast_with_a_clear_message(gateway: Gateway) -> None:
    assert not gateway.available()
    with pytest.raises(NoModelConfigured) as caught:
        asyncio.run(gateway.chat(ask()))
    assert "SHUZHI_MODEL_BASE_URL" in str(caught.value)
    assert "shuzhi models add" in str(caught.value)


def test_default_alias_routes_and_usage_is_recorded(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "city-v3", scripted_model, trust_zone="inside")
    alias(db, "gov-chat", "city-v3", is_default=True)
    scripted_model.push("您好，请问办理什么业务？")

    result = gateway.chat_sync(ask(caller=Caller("employee", "front-desk", department_id=None)))

    assert (result.content, result.endpoint, result.alias) == (
        "您好，请问办理什么业务？",
        "city-v3",
        "gov-chat",
    )
    [row] = usage_rows(gateway)
    assert (row.endpoint, row.alias, row.outcome, row.caller_kind) == (
        "city-v3",
        "gov-chat",
        "ok",
        "employee",
    )
    assert row.caller_id == "front-desk"
    assert row.prompt_tokens == result.usage.prompt_tokens > 0
    assert row.request_id == result.request_id


def test_names_resolve_to_alias_endpoint_or_vendor_model(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "city-r1", scripted_model, model="deepseek-reasoner", kind="reasoning")
    alias(db, "gov-reasoner", "city-r1", kind="reasoning")

    assert gateway.route("gov-reasoner").alias == "gov-reasoner"
    assert [e.name for e in gateway.route("city-r1").endpoints] == ["city-r1"]
    assert [e.name for e in gateway.route("deepseek-reasoner").endpoints] == ["city-r1"]
    with pytest.raises(NotFound) as caught:
        gateway.route("gpt-5")
    assert "gov-reasoner" in str(caught.value)
    with pytest.raises(NoModelConfigured):
        gateway.route(None, "embedding")


def test_retries_on_429_honouring_retry_after_then_succeeds(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model, max_retries=2)
    scripted_model.push(Reply.error(429, retry_after=0.05), Reply.error(503), "好的")

    result = gateway.chat_sync(ask())

    assert (result.content, result.endpoint, result.attempts) == ("好的", "ds", 3)
    assert len(scripted_model.chat_requests) == 3
    assert usage_rows(gateway)[0].attempts == 3


def test_failed_endpoint_falls_back_to_the_next(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "city-vllm", scripted_model, max_retries=1, trust_zone="inside")
    add(db, settings, "deepseek-api", second_model)
    alias(db, "gov-chat", "city-vllm", "deepseek-api")
    scripted_model.push(Reply.error(500), Reply.error(500))
    second_model.push("备用服务的回答")

    result = gateway.chat_sync(ask(model="gov-chat"))

    assert (result.content, result.endpoint, result.attempts) == (
        "备用服务的回答",
        "deepseek-api",
        3,
    )
    assert len(scripted_model.chat_requests) == 2


def test_timeout_and_non_retryable_errors_move_on(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "slow", scripted_model, timeout_s=0.2, max_retries=0)
    add(db, settings, "ok", second_model)
    alias(db, "gov-chat", "slow", "ok")
    scripted_model.push(Reply.slow(2.0), Reply.error(401))
    second_model.push("一", "二")

    assert gateway.chat_sync(ask(model="gov-chat")).content == "一"
    assert gateway.chat_sync(ask(model="gov-chat")).content == "二"


def test_long_retry_after_skips_to_the_next_endpoint(
    db: Database,
    settings: Settings,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    gateway = Gateway(db, settings, retry_after_max=5, config_ttl=0)
    add(db, settings, "busy", scripted_model, max_retries=3)
    add(db, settings, "free", second_model)
    alias(db, "gov-chat", "busy", "free")
    scripted_model.push(Reply.error(429, retry_after=3600))

    result = gateway.chat_sync(ask(model="gov-chat"))

    assert result.endpoint == "free"
    assert len(scripted_model.chat_requests) == 1
    gateway.close()


def test_when_all_fail_the_error_is_clear_and_the_request_recorded(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "a", scripted_model, max_retries=0)
    add(db, settings, "b", second_model, max_retries=1)
    alias(db, "gov-chat", "a", "b")
    scripted_model.push(Reply.error(500))
    second_model.push(Reply.error(502), Reply.error(503))

    with pytest.raises(ModelError) as caught:
        gateway.chat_sync(ask(f"我的手机号是 {PHONE}", model="gov-chat"))

    message = str(caught.value)
    assert "gov-chat" in message and "a：HTTP 500" in message and "b：HTTP 503" in message
    [row] = usage_rows(gateway)
    assert (row.outcome, row.alias, row.attempts, row.endpoint) == ("failed", "gov-chat", 3, None)
    assert row.error is not None and "b：HTTP 503" in row.error
    assert PHONE not in message and PHONE not in row.error


def test_masking_round_trip_outside_the_trust_zone(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
) -> None:
    add(db, settings, "deepseek-api", scripted_model, trust_zone="outside")
    text = f"我叫张三，身份证 {ID_NUMBER}，电话 {PHONE}，请帮我查社保。"

    result = gateway.chat_sync(ask(text))

    sent = scripted_model.chat_requests[0]["messages"][0]["content"]
    assert ID_NUMBER not in sent and PHONE not in sent
    assert "〔身份证号1〕" in sent and "〔手机号1〕" in sent
    assert result.content == f"echo: {text}"
    assert result.masked_count == 2
    assert usage_rows(gateway)[0].masked_items == 2


def test_configured_extra_patterns_are_masked_too(
    db: Database,
    settings: Settings,
    scripted_model: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHUZHI_MODEL_MASK_PATTERNS", '{"工号": "GH\\\\d{6}"}')
    add(db, settings, "ds", scripted_model)
    gateway = Gateway(db, settings, config_ttl=0)

    result = gateway.chat_sync(ask("我的工号是 GH123456"))

    sent = scripted_model.chat_requests[0]["messages"][0]["content"]
    assert "GH123456" not in sent and "〔工号1〕" in sent
    assert result.content == "echo: 我的工号是 GH123456"
    gateway.close()


def test_inside_endpoint_gets_plain_text_unless_configured(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "city", scripted_model, trust_zone="inside")
    add(db, settings, "city-masked", second_model, trust_zone="inside", mask=True)

    gateway.chat_sync(ask(f"电话 {PHONE}", model="city"))
    gateway.chat_sync(ask(f"电话 {PHONE}", model="city-masked"))

    assert PHONE in scripted_model.chat_requests[0]["messages"][0]["content"]
    assert PHONE not in second_model.chat_requests[0]["messages"][0]["content"]


def test_conversation_vault_keeps_placeholders_stable(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model)
    vault = Vault()
    first = gateway.chat_sync(ask(f"电话 {PHONE}", vault=vault))
    history = [
        {"role": "user", "content": f"电话 {PHONE}"},
        first.to_message(),
        {"role": "user", "content": f"另一个号码 13987654321，原号码 {PHONE}"},
    ]
    gateway.chat_sync(ChatRequest(messages=history, vault=vault))

    second = scripted_model.chat_requests[1]["messages"]
    assert second[0]["content"] == "电话 〔手机号1〕"
    assert second[2]["content"] == "另一个号码 〔手机号2〕，原号码 〔手机号1〕"


def test_reasoning_is_returned_apart_and_never_fed_back(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "r1", scripted_model, model="deepseek-reasoner", kind="reasoning")
    scripted_model.push(Reply(reasoning="先查社保法第十六条", content="满十五年"), "好的")

    first = gateway.chat_sync(
        ask("养老金领取要缴费多少年？", thinking=True, reasoning_effort="high")
    )
    history = [
        {"role": "user", "content": "养老金领取要缴费多少年？"},
        {**first.to_message(), "reasoning_content": first.reasoning},
        {"role": "user", "content": "谢谢"},
    ]
    gateway.chat_sync(ChatRequest(messages=history))

    assert (first.content, first.reasoning) == ("满十五年", "先查社保法第十六条")
    sent_first, sent_second = scripted_model.chat_requests
    assert sent_first["thinking"] == {"type": "enabled"}
    assert sent_first["reasoning_effort"] == "high"
    assert "先查社保法" not in json.dumps(sent_second, ensure_ascii=False)
    assert all("reasoning_content" not in m for m in sent_second["messages"])


def test_cache_hits_are_recorded_and_priced(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(
        db,
        settings,
        "ds",
        scripted_model,
        price_input=2.0,
        price_cached_input=0.5,
        price_output=8.0,
    )
    scripted_model.push(Reply("答", usage={"prompt_tokens": 1000, "completion_tokens": 100,
                                            "prompt_cache_hit_tokens": 600}))  # fmt: skip

    result = gateway.chat_sync(ask())

    assert (result.usage.cached_tokens, result.usage.cache_miss_tokens) == (600, 400)
    expected = (400 * 2.0 + 600 * 0.5 + 100 * 8.0) / 1_000_000
    assert result.cost == pytest.approx(expected)
    [row] = usage_rows(gateway)
    assert (row.cached_tokens, row.currency) == (600, "CNY")
    assert row.cost == pytest.approx(expected)


def test_stream_delivers_pieces_and_a_final_result(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model, price_output=8.0)
    scripted_model.push(Reply(reasoning="想一想", content="这是一个分段返回的回答"))

    chunks = asyncio.run(collect(gateway, ask()))

    assert len(chunks) > 3
    assert "".join(c.content for c in chunks) == "这是一个分段返回的回答"
    assert "".join(c.reasoning for c in chunks) == "想一想"
    final = chunks[-1].result
    assert final is not None and final.content == "这是一个分段返回的回答"
    assert final.reasoning == "想一想" and final.finish_reason == "stop"
    [row] = usage_rows(gateway)
    assert row.stream and row.completion_tokens == final.usage.completion_tokens > 0
    assert row.first_token_ms is not None and row.cost > 0


def test_stream_unmasks_placeholders_split_across_chunks(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model)

    def echo_in_tiny_pieces(body: dict[str, Any]) -> Reply:
        return Reply(content="收到：" + body["messages"][-1]["content"], chunk_size=1)

    scripted_model._script.handler = echo_in_tiny_pieces
    text = f"身份证 {ID_NUMBER}，手机 {PHONE}，邮箱 zhang.san@example.cn"

    chunks = asyncio.run(collect(gateway, ask(text)))

    pieces = [c.content for c in chunks if c.content]
    assert "".join(pieces) == "收到：" + text
    assert not any("〔" in p or "〕" in p for p in pieces)
    assert ID_NUMBER not in json.dumps(scripted_model.chat_requests, ensure_ascii=False)


def test_stream_cut_before_any_text_falls_back_silently(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "a", scripted_model, max_retries=0)
    add(db, settings, "b", second_model)
    alias(db, "gov-chat", "a", "b")
    scripted_model.push(Reply.cut("不会出现", after=0))
    second_model.push("完整回答")

    chunks = asyncio.run(collect(gateway, ask(model="gov-chat")))

    assert not any(c.reset for c in chunks)
    assert "".join(c.content for c in chunks) == "完整回答"
    assert chunks[-1].result is not None and chunks[-1].result.endpoint == "b"


def test_stream_cut_mid_answer_resets_and_restarts_on_the_next_endpoint(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "a", scripted_model, max_retries=0)
    add(db, settings, "b", second_model)
    alias(db, "gov-chat", "a", "b")
    scripted_model.push(Reply.cut("前半段回答后半段", after=1))
    second_model.push("重新回答的完整内容")

    chunks = asyncio.run(collect(gateway, ask(model="gov-chat")))

    resets = [i for i, c in enumerate(chunks) if c.reset]
    assert len(resets) == 1
    before = "".join(c.content for c in chunks[: resets[0]])
    after = "".join(c.content for c in chunks[resets[0] :])
    assert before == "前半段回" and after == "重新回答的完整内容"
    assert chunks[-1].result is not None and chunks[-1].result.content == "重新回答的完整内容"


def test_stream_all_failing_raises_model_error_and_records(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "only", scripted_model, max_retries=1)
    scripted_model.push(Reply.error(500), Reply.cut("半句", after=1))

    with pytest.raises(ModelError):
        asyncio.run(collect(gateway, ask()))

    [row] = usage_rows(gateway)
    assert row.outcome == "failed" and row.stream


def test_tool_calls_whole_and_streamed_with_masked_arguments_restored(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model)

    def call_lookup(body: dict[str, Any]) -> Reply:
        assert body["tools"][0]["function"]["name"] == "lookup_insurance"
        masked = body["messages"][-1]["content"].split("：")[1]
        return Reply.tools(ScriptedToolCall("lookup_insurance", {"id_number": masked}))

    scripted_model._script.handler = call_lookup
    tools = [{"type": "function", "function": {"name": "lookup_insurance", "parameters": {}}}]
    request = ask(f"查询参保：{ID_NUMBER}", tools=tools, tool_choice="auto")

    whole = gateway.chat_sync(request)
    chunks = asyncio.run(collect(gateway, request))

    assert whole.finish_reason == "tool_calls"
    assert json.loads(whole.tool_calls[0].arguments) == {"id_number": ID_NUMBER}
    streamed = chunks[-1].result
    assert streamed is not None and streamed.tool_calls[0].name == "lookup_insurance"
    assert json.loads(streamed.tool_calls[0].arguments) == {"id_number": ID_NUMBER}
    assert whole.to_message()["tool_calls"][0]["function"]["name"] == "lookup_insurance"


def test_embeddings_route_to_the_embedding_alias(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "bge", scripted_model, model="scripted-embedding", kind="embedding",
        trust_zone="inside")  # fmt: skip
    alias(db, "gov-embedding", "bge", kind="embedding")

    result = gateway.embed_sync(["社保卡补办", "道路积水"])

    assert len(result.vectors) == 2 and len(result.vectors[0]) == 256
    assert (result.endpoint, result.alias) == ("bge", "gov-embedding")
    assert usage_rows(gateway)[0].operation == "embedding"
    with pytest.raises(NoModelConfigured):
        gateway.chat_sync(ask())


def test_stored_api_key_is_encrypted_and_used(
    db: Database, settings: Settings, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shuzhi.storage.models import ModelEndpoint

    with ScriptedModelServer(api_key="sk-secret-123") as server:
        add(db, settings, "keyed", server, api_key="sk-secret-123")
        monkeypatch.setenv("TEST_DS_KEY", "sk-secret-123")
        add(db, settings, "from-env", server, api_key_env="TEST_DS_KEY")

        assert gateway.chat_sync(ask(model="keyed")).content == "echo: 你好"
        assert gateway.chat_sync(ask(model="from-env")).content == "echo: 你好"

    with db.session() as session:
        row = session.scalar(select(ModelEndpoint).where(ModelEndpoint.name == "keyed"))
        assert row is not None and row.api_key_encrypted
        assert "sk-secret-123" not in row.api_key_encrypted


def test_key_unreadable_after_secret_change_falls_back(
    db: Database,
    settings: Settings,
    scripted_model: ScriptedModelServer,
    second_model: ScriptedModelServer,
) -> None:
    add(db, settings, "old-key", scripted_model, api_key="sk-1")
    add(db, settings, "spare", second_model)
    alias(db, "gov-chat", "old-key", "spare")
    other = settings.model_copy(update={"secret_key": "a-different-secret"})
    gateway = Gateway(db, other, config_ttl=0)

    result = gateway.chat_sync(ask(model="gov-chat"))

    assert result.endpoint == "spare"
    assert scripted_model.chat_requests == []
    gateway.close()


def test_environment_variables_declare_a_default_alias(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHUZHI_MODEL_BASE_URL", scripted_model.base_url)
    monkeypatch.setenv("SHUZHI_MODEL_NAME", "deepseek-chat")
    monkeypatch.setenv("SHUZHI_MODEL_API_KEY", "sk-env")

    result = gateway.chat_sync(ask(f"电话 {PHONE}"))

    assert (result.alias, result.endpoint) == ("gov-chat", "env-chat")
    recorded = scripted_model.requests[0]
    assert recorded.headers["authorization"] == "Bearer sk-env"
    assert PHONE not in recorded.body["messages"][0]["content"]


def test_concurrent_calls_share_the_gateway(
    db: Database, settings: Settings, gateway: Gateway, scripted_model: ScriptedModelServer
) -> None:
    add(db, settings, "ds", scripted_model, max_concurrency=2)

    async def many() -> list[str]:
        results = await asyncio.gather(*(gateway.chat(ask(f"问题{i}")) for i in range(10)))
        await gateway.aclose()
        return [r.content for r in results]

    assert asyncio.run(many()) == [f"echo: 问题{i}" for i in range(10)]
    assert len(usage_rows(gateway)) == 10
