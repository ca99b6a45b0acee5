"""Talking to one endpoint over the OpenAI protocol: clients, request bodies, errors, parsing.

The ``openai`` SDK is the client (its own retries are off: the gateway retries and falls back
itself). Its exceptions are translated here, once, into :class:`EndpointFailure`.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import struct
import time
from dataclasses import dataclass
from typing import Any

import openai

from shuzhi.gateway.catalog import EndpointConfig
from shuzhi.gateway.types import ChatRequest, ToolCall

# Fields of an incoming message the model may read; DeepSeek's ``reasoning_content`` is not one
# of them: their API rejects it in input, and reasoning must never be fed back into a prompt.
_MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id", "prefix")


class EndpointFailure(Exception):
    """One endpoint failed this call. ``retryable`` failures are worth trying again there."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = 1


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def translate(exc: BaseException) -> EndpointFailure:
    """Map an SDK or transport exception to a failure saying what happened, without any text."""
    if isinstance(exc, EndpointFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return EndpointFailure("请求超时", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return EndpointFailure("连接失败或连接中断", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        after = _retry_after(exc.response)
        label = {401: "API 密钥无效", 403: "无权访问", 404: "模型或地址不存在", 429: "限流"}
        return EndpointFailure(
            f"HTTP {status} {label.get(status, '')}".strip(),
            status=status,
            retryable=retryable,
            retry_after=after,
        )
    if isinstance(exc, openai.OpenAIError | OSError | asyncio.TimeoutError):
        return EndpointFailure(f"调用失败（{type(exc).__name__}）", retryable=True)
    raise exc


class ClientPool:
    """One ``AsyncOpenAI`` client per endpoint setting and event loop (pools are loop-bound)."""

    def __init__(self) -> None:
        self._clients: dict[tuple[Any, ...], openai.AsyncOpenAI] = {}

    def get(self, endpoint: EndpointConfig) -> openai.AsyncOpenAI:
        if endpoint.key_error:
            raise EndpointFailure(endpoint.key_error)
        loop = asyncio.get_running_loop()
        key = (id(loop), endpoint.name, endpoint.base_url, endpoint.api_key, endpoint.timeout_s)
        client = self._clients.get(key)
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=endpoint.api_key or "none",
                base_url=endpoint.base_url,
                timeout=endpoint.timeout_s,
                max_retries=0,
            )
            self._clients[key] = client
        return client

    async def close_loop_clients(self) -> None:
        """Close the clients bound to the running loop (call before the loop ends)."""
        loop_id = id(asyncio.get_running_loop())
        for key in [k for k in self._clients if k[0] == loop_id]:
            await self._clients.pop(key).close()


def clean_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages as the model may see them: no reasoning, no fields the protocol lacks."""
    return [{k: m[k] for k in _MESSAGE_FIELDS if k in m} for m in messages]


def chat_body(
    request: ChatRequest, endpoint: EndpointConfig, messages: list[dict[str, Any]], stream: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": endpoint.model, "messages": messages}
    optional = {
        "tools": request.tools,
        "tool_choice": request.tool_choice,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "stop": request.stop,
        "response_format": request.response_format,
        "reasoning_effort": request.reasoning_effort,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    extra = {**endpoint.extra_body, **request.extra}
    if request.thinking is not None:
        extra["thinking"] = {"type": "enabled" if request.thinking else "disabled"}
    if extra:
        body["extra_body"] = extra
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


@dataclass
class Completion:
    content: str
    reasoning: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    model: str
    usage: Any


def parse_completion(raw: Any) -> Completion:
    if not raw.choices:
        raise EndpointFailure("模型返回了空结果（没有 choices）", retryable=True)
    choice = raw.choices[0]
    message = choice.message
    extra = message.model_extra or {}
    calls = [
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
        for c in message.tool_calls or []
        if getattr(c, "function", None) is not None
    ]
    return Completion(
        content=message.content or "",
        reasoning=extra.get("reasoning_content"),
        tool_calls=calls,
        finish_reason=choice.finish_reason or "stop",
        model=raw.model or "",
        usage=raw.usage,
    )


def encode_vector(vector: list[float], as_base64: bool) -> list[float] | str:
    """A vector as OpenAI sends it: a list, or little-endian float32 in base64 when asked."""
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
