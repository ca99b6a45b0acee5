"""Virtual models: names other packages expose on ``/v1`` without being endpoints.

The employees package registers each digital employee as a model, so an OpenAI chat front end can
talk to an employee by picking it from the model list. The gateway knows no employee: it only
keeps this registry, which the HTTP surface consults before routing to real endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from shuzhi.gateway.types import ChatChunk, ChatRequest, ChatResult

ChatHandler = Callable[[ChatRequest], Awaitable[ChatResult]]
StreamHandler = Callable[[ChatRequest], AsyncIterator[ChatChunk]]


@dataclass(frozen=True)
class VirtualModel:
    name: str
    chat: ChatHandler
    stream: StreamHandler | None = None
    description: str = ""
    owned_by: str = "shuzhi"


_registry: dict[str, VirtualModel] = {}


def register_virtual_model(
    name: str,
    chat: ChatHandler,
    *,
    stream: StreamHandler | None = None,
    description: str = "",
    owned_by: str = "shuzhi",
) -> VirtualModel:
    """Expose ``name`` on /v1. Without ``stream``, a streamed request gets the answer at once."""
    model = VirtualModel(name, chat, stream, description, owned_by)
    _registry[name] = model
    return model


def unregister_virtual_model(name: str) -> None:
    _registry.pop(name, None)


def virtual_model(name: str | None) -> VirtualModel | None:
    return _registry.get(name) if name else None


def virtual_models() -> list[VirtualModel]:
    return sorted(_registry.values(), key=lambda m: m.name)
