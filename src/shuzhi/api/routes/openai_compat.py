"""``/v1``: the city's model base over the OpenAI protocol, for the OpenAI SDK and chat front ends.

Authenticated with shuzhi API keys (``Authorization: Bearer sz-...``) and the ``model.use``
permission. Every call goes through the gateway, so it is routed, masked, metered and recorded
like any call from inside shuzhi. Names registered with
:func:`shuzhi.gateway.register_virtual_model` (e.g. digital employees) are served here too.

Responses carry ``X-Shuzhi-Request-Id`` (the usage row) and ``X-AIGC-Label: 1``: the content is
AI-generated (GB 45438-2025 implicit label); a chat front end shows the visible label.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from shuzhi.api.deps import bind_model_call, get_db, get_principal, require
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, ShuzhiError
from shuzhi.gateway import (
    Caller,
    ChatChunk,
    ChatRequest,
    ChatResult,
    Gateway,
    virtual_model,
    virtual_models,
)
from shuzhi.gateway.upstream import encode_vector
from shuzhi.platform.identity import Principal
from shuzhi.storage.db import Database

router = APIRouter(prefix="/v1", tags=["openai"])

_check_model_use = require("model.use").dependency


def model_user(request: Request) -> Principal:
    """The caller, admitted with ``model.use``, authenticated in a transaction of its own.

    Checking an API key writes its ``last_used_at``. Committing that at once, instead of holding
    the request's session through the model call, keeps the SQLite write lock (or the PostgreSQL
    row lock on the key) from blocking concurrent calls made with the same key.
    """
    with get_db(request).session() as session:
        principal = get_principal(request, session)
    checked: Principal = _check_model_use(principal)
    return checked


model_user.permission = "model.use"  # type: ignore[attr-defined]  # read by the matrix test
ModelUser = Annotated[Principal, Depends(model_user)]
RESET_NOTICE = "\n\n（模型服务中断，以下由备用模型重新回答）\n\n"


def get_gateway(request: Request) -> Gateway:
    """The application's one gateway, created on first use."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        db: Database = request.app.state.db
        settings: Settings = request.app.state.settings
        gateway = request.app.state.gateway = Gateway(db, settings)
    return gateway


ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_MESSAGES = 1000
MAX_CONTENT_CHARS = 400_000  # beyond any context window the city's models have


class ChatCompletionBody(BaseModel):
    """The OpenAI chat completion request; unknown vendor fields are passed on to the endpoint."""

    model_config = ConfigDict(extra="allow")

    model: str | None = Field(default=None, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: StrictBool = False
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    n: int | None = Field(default=None, ge=1, le=1)
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking: dict[str, Any] | bool | None = None
    user: str | None = None

    @field_validator("messages")
    @classmethod
    def _check_messages(cls, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        size = 0
        for i, message in enumerate(messages):
            role = message.get("role")
            if role not in ROLES:
                raise ValueError(f"第 {i + 1} 条消息的 role 应为 {'、'.join(ROLES)} 之一")
            if role == "tool" and not message.get("tool_call_id"):
                raise ValueError(f"第 {i + 1} 条 tool 消息缺少 tool_call_id")
            size += len(json.dumps(message.get("content") or "", ensure_ascii=False))
        if size > MAX_CONTENT_CHARS:
            raise ValueError(f"消息总长度超过 {MAX_CONTENT_CHARS} 个字符，请缩短对话")
        return messages

    def to_request(self, caller: Caller) -> ChatRequest:
        return ChatRequest(
            messages=self.messages,
            model=self.model,
            tools=self.tools,
            tool_choice=self.tool_choice,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens or self.max_completion_tokens,
            stop=self.stop,
            response_format=self.response_format,
            reasoning_effort=self.reasoning_effort,
            thinking=_thinking(self.thinking),
            caller=caller,
            extra=dict(self.model_extra or {}),
        )


def _thinking(value: dict[str, Any] | bool | None) -> bool | None:
    if isinstance(value, dict):
        return value.get("type") != "disabled"
    return value


class EmbeddingBody(BaseModel):
    model: str | None = None
    input: str | list[str] = Field(description="一段或多段文本")
    encoding_format: str = "float"


def caller_of(principal: Principal) -> Caller:
    kind = "api_key" if principal.api_key_id is not None else "user"
    return Caller(kind, principal.name)


# -- responses in OpenAI's shapes ------------------------------------------------------------


def _usage_json(result: ChatResult) -> dict[str, Any]:
    usage = result.usage
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_cache_hit_tokens": usage.cached_tokens,
        "prompt_cache_miss_tokens": usage.cache_miss_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def completion_json(result: ChatResult, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.reasoning is not None:
        message["reasoning_content"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = [call.to_openai() for call in result.tool_calls]
    choice = {"index": 0, "message": message, "finish_reason": result.finish_reason}
    return {
        "id": f"chatcmpl-{result.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": _usage_json(result),
    }


def _headers(result: ChatResult | None = None, request_id: str | None = None) -> dict[str, str]:
    headers = {"X-AIGC-Label": "1"}
    if request_id is not None:
        headers["X-Shuzhi-Request-Id"] = request_id
    if result is not None:
        headers["X-Shuzhi-Request-Id"] = result.request_id
        headers["Server-Timing"] = (
            f"upstream;dur={result.upstream_ms:.2f}, gateway;dur={result.gateway_ms:.2f}"
        )
    return headers


def _delta(chunk: ChatChunk) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if chunk.reset:
        delta["content"] = RESET_NOTICE
    if chunk.content:
        delta["content"] = chunk.content
    if chunk.reasoning:
        delta["reasoning_content"] = chunk.reasoning
    if chunk.tool_calls:
        delta["tool_calls"] = [_tool_delta(t) for t in chunk.tool_calls]
    return delta


def _tool_delta(delta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"index": delta.index, "function": {"arguments": delta.arguments}}
    if delta.id:
        out["id"], out["type"] = delta.id, "function"
    if delta.name:
        out["function"]["name"] = delta.name
    return out


def _sse(data: dict[str, Any] | str) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"


async def _sse_stream(
    first: ChatChunk, rest: AsyncIterator[ChatChunk], model: str, include_usage: bool
) -> AsyncIterator[str]:
    base = {"id": f"chatcmpl-{int(time.time() * 1000)}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}  # fmt: skip
    yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    try:
        async for chunk in _chain(first, rest):
            choice = {"index": 0, "delta": _delta(chunk), "finish_reason": chunk.finish_reason}
            yield _sse({**base, "choices": [choice]})
            if chunk.result is not None and include_usage:
                yield _sse({**base, "choices": [], "usage": _usage_json(chunk.result)})
    except ShuzhiError as exc:
        # The status line is already sent; OpenAI clients read an error event in the stream.
        yield _sse({"error": exc.to_dict()})
    yield _sse("[DONE]")


async def _chain(first: ChatChunk, rest: AsyncIterator[ChatChunk]) -> AsyncIterator[ChatChunk]:
    yield first
    async for chunk in rest:
        yield chunk


async def _whole_as_stream(result: ChatResult) -> AsyncIterator[ChatChunk]:
    yield ChatChunk(content=result.content, reasoning=result.reasoning or "", finish_reason=None)
    yield ChatChunk(finish_reason=result.finish_reason, result=result)


# -- routes ----------------------------------------------------------------------------------


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionBody, request: Request, principal: ModelUser) -> Any:
    call = bind_model_call(request, principal, body.user)  # for virtual models (employees)
    gateway = get_gateway(request)
    chat = body.to_request(caller_of(principal))
    model = body.model or "default"
    if not body.stream:
        result = await _chat(gateway, chat)
        headers = {**_headers(result), **call.reply_headers}
        return JSONResponse(completion_json(result, model), headers=headers)
    chunks = await _stream(gateway, chat)
    first = await anext(chunks)  # errors before any output become a normal HTTP error
    include_usage = bool((body.stream_options or {}).get("include_usage"))
    stream = _sse_stream(first, chunks, model, include_usage)
    headers = {**_headers(), **call.reply_headers}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _chat(gateway: Gateway, chat: ChatRequest) -> ChatResult:
    virtual = virtual_model(chat.model)
    if virtual is not None:
        return await virtual.chat(chat)
    return await gateway.chat(chat)


async def _stream(gateway: Gateway, chat: ChatRequest) -> AsyncIterator[ChatChunk]:
    virtual = virtual_model(chat.model)
    if virtual is None:
        return gateway.stream(chat)
    if virtual.stream is not None:
        return virtual.stream(chat)
    return _whole_as_stream(await virtual.chat(chat))


@router.get("/models")
async def list_models(request: Request, principal: ModelUser) -> dict[str, Any]:
    bind_model_call(request, principal)
    catalog = get_gateway(request).catalog()
    data = [_model_json(a.name, "shuzhi", a.kind, a.description) for a in catalog.aliases.values()]
    data += [
        _model_json(e.name, "shuzhi", e.kind, f"{e.model} @ {e.trust_zone}")
        for e in catalog.endpoints.values()
        if e.enabled
    ]
    data += [_model_json(v.name, v.owned_by, "chat", v.description) for v in virtual_models()]
    return {"object": "list", "data": data}


def _model_json(name: str, owner: str, kind: str, description: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": owner,
            "kind": kind, "description": description}  # fmt: skip


@router.post("/embeddings")
async def embeddings(body: EmbeddingBody, request: Request, principal: ModelUser) -> Any:
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts or any(not isinstance(t, str) or not t for t in texts):
        raise InvalidInput("input 应为非空文本或非空文本列表", hint='例如 {"input": ["文本"]}')
    result = await get_gateway(request).embed(texts, model=body.model, caller=caller_of(principal))
    as_base64 = body.encoding_format == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": encode_vector(v, as_base64)}
        for i, v in enumerate(result.vectors)
    ]
    usage = {
        "prompt_tokens": result.usage.prompt_tokens,
        "total_tokens": result.usage.prompt_tokens,
    }
    model = body.model or result.alias or result.endpoint
    payload = {"object": "list", "data": data, "model": model, "usage": usage}
    return JSONResponse(payload, headers=_headers(request_id=result.request_id))
