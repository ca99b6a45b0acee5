"""The model base (the "1"): one gateway for every model call, OpenAI-compatible in and out.

Everything in shuzhi that needs a model — a digital employee, a scenario step, an outside system
on ``/v1`` — calls it through a :class:`Gateway`, which routes a model name to a fallback chain of
endpoints, masks personal data before text leaves the trust zone, retries and falls back, restores
the masked data in the answer, and records one usage row per call (tokens, cost, latency, outcome;
never the text)::

    from shuzhi.gateway import Caller, ChatRequest, Gateway

    gateway = Gateway(db, settings)
    if gateway.available():                      # else: work offline, and say so
        result = await gateway.chat(ChatRequest(
            messages=[{"role": "user", "content": "社保卡丢了怎么补办？"}],
            model=None,                           # None = the default chat alias (gov-chat)
            caller=Caller("employee", "social-security-qa", department_id=3),
        ))
        result.content, result.reasoning, result.tool_calls, result.usage, result.cost
        history.append(result.to_message())      # reasoning is never fed back

    async for chunk in gateway.stream(request):  # chunk.content / .reasoning / .tool_calls
        if chunk.reset: ...                      # endpoint broke mid-answer: discard and restart
        if chunk.result: ...                     # last chunk: the whole ChatResult with usage

    vectors = (await gateway.embed(["文本"])).vectors
    gateway.chat_sync(request)                   # from non-async code

Errors: :class:`shuzhi.errors.NoModelConfigured` at once when no endpoint is configured (the
message says how to add one), :class:`shuzhi.errors.NotFound` for an unknown model name, and
:class:`shuzhi.errors.ModelError` when every endpoint in the chain failed (the usage row is written
first). Keep one :class:`shuzhi.privacy.Vault` per conversation in ``ChatRequest.vault`` so the
same phone number gets the same placeholder in every turn.

Also here: :func:`assemble` (prompt order that keeps the provider's prefix cache warm),
:func:`register_virtual_model` (expose e.g. an employee as a model on ``/v1``), the management
functions in :mod:`shuzhi.gateway.registry`, and the scripted OpenAI-compatible server for tests
and demos in :mod:`shuzhi.gateway.testing`.
"""

from shuzhi.gateway.core import Gateway, Route
from shuzhi.gateway.prompt import assemble, without_reasoning
from shuzhi.gateway.types import (
    Caller,
    ChatChunk,
    ChatRequest,
    ChatResult,
    EmbedResult,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from shuzhi.gateway.virtual import (
    VirtualModel,
    register_virtual_model,
    unregister_virtual_model,
    virtual_model,
    virtual_models,
)

__all__ = [
    "Caller",
    "ChatChunk",
    "ChatRequest",
    "ChatResult",
    "EmbedResult",
    "Gateway",
    "Route",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "VirtualModel",
    "assemble",
    "register_virtual_model",
    "unregister_virtual_model",
    "virtual_model",
    "virtual_models",
    "without_reasoning",
]
