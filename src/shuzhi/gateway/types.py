"""The gateway's plain data: what a caller asks for and what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shuzhi.gateway.masking import Vault

Kind = Literal["chat", "reasoning", "embedding"]
KINDS: tuple[str, ...] = ("chat", "reasoning", "embedding")
TRUST_ZONES: tuple[str, ...] = ("inside", "outside")


@dataclass(frozen=True)
class Caller:
    """Who is asking, for usage records and quotas: ``kind`` is employee / scenario / api_key /
    user / system; ``id`` the slug, key name or user name."""

    kind: str = "system"
    id: str | None = None
    department_id: int | None = None


@dataclass
class ToolCall:
    """A function call the model asked for; ``arguments`` is the JSON text the model wrote."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@dataclass
class ToolCallDelta:
    """A piece of a streamed tool call: the first piece of each ``index`` carries id and name."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class Usage:
    """Token counts as the endpoint reported them. ``completion_tokens`` includes reasoning."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cache_miss_tokens(self) -> int:
        return max(0, self.prompt_tokens - self.cached_tokens)


@dataclass
class ChatRequest:
    """One chat call. ``model`` is an alias, an endpoint name, or None for the default alias.

    ``thinking`` switches a hybrid model's reasoning on or off (DeepSeek's ``thinking`` field);
    ``reasoning_effort`` is passed through as is. ``vault`` keeps masking placeholders stable
    across the turns of one conversation; leave it None for a one-off call. ``extra`` is merged
    into the request body for vendor parameters the gateway does not know.
    """

    messages: list[dict[str, Any]]
    model: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: str | list[str] | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking: bool | None = None
    caller: Caller = field(default_factory=Caller)
    vault: Vault | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChatResult:
    """A finished answer. ``reasoning`` is kept apart and must never go back into a prompt."""

    content: str
    reasoning: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    endpoint: str
    model: str
    alias: str | None
    usage: Usage
    cost: float
    currency: str
    masked_count: int
    latency_ms: float
    request_id: str
    attempts: int = 1
    upstream_ms: float = 0.0

    @property
    def gateway_ms(self) -> float:
        """Time spent in shuzhi rather than waiting for endpoints (includes retry backoff)."""
        return max(0.0, self.latency_ms - self.upstream_ms)

    def to_message(self) -> dict[str, Any]:
        """The assistant turn to append to the history: content and tool calls, no reasoning."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return message


@dataclass
class ChatChunk:
    """One streamed piece. The last chunk has ``result`` set with the whole answer and usage.

    ``reset`` means the endpoint failed mid-answer and the gateway moved to the next one: discard
    what was shown so far, the answer starts again from ``endpoint``.
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    finish_reason: str | None = None
    endpoint: str | None = None
    reset: bool = False
    result: ChatResult | None = None


@dataclass
class EmbedResult:
    vectors: list[list[float]]
    endpoint: str
    model: str
    alias: str | None
    usage: Usage
    cost: float
    request_id: str
