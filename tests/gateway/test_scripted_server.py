"""The scripted server speaks the OpenAI protocol well enough for the real SDK to use it."""

from __future__ import annotations

import openai
import pytest

from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall, hashed_embedding


def _client(server: ScriptedModelServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def test_queued_replies_come_back_in_order_and_requests_are_recorded(
    scripted_model: ScriptedModelServer,
) -> None:
    scripted_model.push("第一", Reply(reasoning="先想一想", content="第二"))
    client = _client(scripted_model)
    ask = [{"role": "user", "content": "你好"}]

    first = client.chat.completions.create(model="deepseek-chat", messages=ask)
    second = client.chat.completions.create(model="deepseek-reasoner", messages=ask)

    assert first.choices[0].message.content == "第一"
    assert second.choices[0].message.content == "第二"
    assert second.choices[0].message.model_extra["reasoning_content"] == "先想一想"
    assert [b["model"] for b in scripted_model.chat_requests] == [
        "deepseek-chat",
        "deepseek-reasoner",
    ]
    assert scripted_model.pending == 0


def test_echo_when_nothing_is_queued_and_handler_mode() -> None:
    with ScriptedModelServer(handler=lambda body: f"共 {len(body['messages'])} 条") as server:
        reply = _client(server).chat.completions.create(
            model="m",
            messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        )
        assert reply.choices[0].message.content == "共 2 条"
    with ScriptedModelServer() as server:
        reply = _client(server).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "在吗"}]
        )
        assert reply.choices[0].message.content == "echo: 在吗"


def test_streaming_sends_reasoning_then_content_then_usage(
    scripted_model: ScriptedModelServer,
) -> None:
    scripted_model.push(Reply(reasoning="推理过程", content="最终答案在此"))
    stream = _client(scripted_model).chat.completions.create(
        model="deepseek-reasoner",
        messages=[{"role": "user", "content": "问"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    reasoning, content, usage, finish = "", "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
            content += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert (reasoning, content, finish) == ("推理过程", "最终答案在此", "stop")
    assert (
        usage is not None and usage.model_extra["prompt_cache_miss_tokens"] == usage.prompt_tokens
    )


def test_prefix_cache_is_simulated(scripted_model: ScriptedModelServer) -> None:
    client = _client(scripted_model)
    system = {"role": "system", "content": "你是政务服务助手。" * 20}
    client.chat.completions.create(model="m", messages=[system, {"role": "user", "content": "甲"}])
    again = client.chat.completions.create(
        model="m", messages=[system, {"role": "user", "content": "乙"}]
    )
    assert again.usage is not None
    hit = again.usage.model_extra["prompt_cache_hit_tokens"]
    assert 0 < hit < again.usage.prompt_tokens


def test_injected_failures(scripted_model: ScriptedModelServer) -> None:
    client = _client(scripted_model)
    ask = [{"role": "user", "content": "x"}]
    scripted_model.push(Reply.error(429, retry_after=2), Reply.error(500), Reply.slow(1.0))

    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="m", messages=ask)
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=ask)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(model="m", messages=ask)


def test_cut_stream_breaks_the_connection(scripted_model: ScriptedModelServer) -> None:
    scripted_model.push(Reply.cut("一二三四五六七八九十", after=2))
    stream = _client(scripted_model).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    received = ""
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received += chunk.choices[0].delta.content or ""
    assert received == "一二三四五六七八"


def test_tool_calls_streamed_and_whole(scripted_model: ScriptedModelServer) -> None:
    call = ScriptedToolCall("search_guide", {"query": "社保转移"}, id="call_1")
    scripted_model.push(Reply.tools(call), Reply.tools(call))
    client = _client(scripted_model)
    ask = [{"role": "user", "content": "x"}]

    whole = client.chat.completions.create(model="m", messages=ask)
    streamed_args = "".join(
        tc.function.arguments or ""
        for chunk in client.chat.completions.create(model="m", messages=ask, stream=True)
        for choice in chunk.choices
        for tc in choice.delta.tool_calls or []
        if tc.function is not None
    )
    tool_call = whole.choices[0].message.tool_calls[0]
    assert whole.choices[0].finish_reason == "tool_calls"
    assert tool_call.function.name == "search_guide"
    assert tool_call.function.arguments == streamed_args == '{"query": "社保转移"}'


def test_embeddings_and_models_and_api_key() -> None:
    with ScriptedModelServer(api_key="right") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="right", max_retries=0)
        result = client.embeddings.create(model="scripted-embedding", input=["社保", "医保"])
        assert result.data[0].embedding == pytest.approx(hashed_embedding("社保"))
        assert "deepseek-chat" in [m.id for m in client.models.list()]
        wrong = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list() and wrong.embeddings.create(model="e", input="x")


def test_embeddings_are_deterministic_and_similar_texts_are_close() -> None:
    a, b, c = (hashed_embedding(t) for t in ("养老保险缴费", "养老保险缴纳", "道路积水严重"))
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731
    assert a == hashed_embedding("养老保险缴费")
    assert dot(a, b) > dot(a, c)
