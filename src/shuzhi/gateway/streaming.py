"""Turning an endpoint's stream into ours: unmasked, accumulated, with usage at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shuzhi.gateway.masking import StreamUnmasker, Vault
from shuzhi.gateway.types import ChatChunk, ToolCall, ToolCallDelta


@dataclass
class _ToolCallBuild:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class StreamState:
    """What one endpoint's stream has produced so far."""

    vault: Vault | None
    started: float = field(default_factory=time.perf_counter)
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tools: dict[int, _ToolCallBuild] = field(default_factory=dict)
    finish_reason: str | None = None
    model: str = ""
    usage: Any = None
    first_token_ms: float | None = None
    emitted: bool = False

    def __post_init__(self) -> None:
        self._content = StreamUnmasker(self.vault)
        self._reasoning = StreamUnmasker(self.vault)
        self._arguments: dict[int, StreamUnmasker] = {}

    def take(self, raw: Any) -> ChatChunk | None:
        """Absorb one raw chunk; return what the caller should see now, if anything."""
        self.model = getattr(raw, "model", "") or self.model
        if getattr(raw, "usage", None) is not None:
            self.usage = raw.usage
        if not raw.choices:
            return None
        choice = raw.choices[0]
        self.finish_reason = choice.finish_reason or self.finish_reason
        delta = choice.delta
        chunk = ChatChunk(
            content=self._content.feed(delta.content or ""),
            reasoning=self._reasoning.feed(
                (delta.model_extra or {}).get("reasoning_content") or ""
            ),
            tool_calls=[self._tool_delta(t) for t in delta.tool_calls or []],
        )
        return self._note(chunk)

    def _tool_delta(self, raw: Any) -> ToolCallDelta:
        build = self.tools.setdefault(raw.index, _ToolCallBuild())
        unmasker = self._arguments.setdefault(raw.index, StreamUnmasker(self.vault))
        function = raw.function
        piece = unmasker.feed(getattr(function, "arguments", None) or "")
        name = getattr(function, "name", None)
        build.id = raw.id or build.id
        build.name = name or build.name
        build.arguments += piece
        return ToolCallDelta(index=raw.index, id=raw.id, name=name, arguments=piece)

    def _note(self, chunk: ChatChunk) -> ChatChunk | None:
        self.content.append(chunk.content)
        self.reasoning.append(chunk.reasoning)
        if not (chunk.content or chunk.reasoning or chunk.tool_calls):
            return None
        if self.first_token_ms is None:
            self.first_token_ms = (time.perf_counter() - self.started) * 1000
        self.emitted = True
        return chunk

    def flush(self) -> ChatChunk:
        """The text held back for a split placeholder, released at the end of the stream."""
        tail = [
            ToolCallDelta(index=i, arguments=rest)
            for i, unmasker in self._arguments.items()
            if (rest := unmasker.flush())
        ]
        for delta in tail:
            self.tools[delta.index].arguments += delta.arguments
        chunk = ChatChunk(
            content=self._content.flush(), reasoning=self._reasoning.flush(), tool_calls=tail
        )
        self.content.append(chunk.content)
        self.reasoning.append(chunk.reasoning)
        return chunk

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=b.id, name=b.name, arguments=b.arguments)
            for _, b in sorted(self.tools.items())
        ]

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str | None:
        joined = "".join(self.reasoning)
        return joined or None
