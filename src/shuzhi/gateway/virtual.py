"""Virtual models: names other packages expose on ``/v1`` without being endpoints.

The employees package registers each digital employee as a model, so an OpenAI chat front end can
talk to an employee by picking it from the model list. The gateway knows no employee: it only
keeps this registry, which the HTTP surface consults before routing to real endpoints.

Names fixed at start-up are registered one by one; names that come and go while the platform runs
(an employee going on or off duty in another server process) come from a :class:`VirtualSource`,
asked on every lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

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


class VirtualSource(Protocol):
    """Virtual models looked up when asked for, e.g. from the database."""

    def find(self, name: str) -> VirtualModel | None: ...

    def models(self) -> list[VirtualModel]: ...


_registry: dict[str, VirtualModel] = {}
_sources: dict[str, VirtualSource] = {}


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


def register_virtual_source(key: str, source: VirtualSource) -> None:
    """Consult ``source`` for names not registered one by one; ``key`` replaces an earlier one."""
    _sources[key] = source


def unregister_virtual_source(key: str) -> None:
    _sources.pop(key, None)


def virtual_model(name: str | None) -> VirtualModel | None:
    if not name:
        return None
    if name in _registry:
        return _registry[name]
    for source in _sources.values():
        found = source.find(name)
        if found is not None:
            return found
    return None


def virtual_models() -> list[VirtualModel]:
    merged = {m.name: m for source in _sources.values() for m in source.models()}
    merged.update(_registry)
    return sorted(merged.values(), key=lambda m: m.name)
