"""The seam between scenario steps and the model base.

Steps call a :class:`ScenarioModel`; with none given they run offline. The gateway (the "1") is
the intended implementation: it masks personal data, routes and meters every call. An
:class:`OpenAIEndpointModel` is provided for a bare OpenAI-compatible endpoint (vLLM, Ollama, the
scripted test server); put the gateway in front of it whenever text leaves the trust boundary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from shuzhi.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelReply:
    text: str
    model: str


@runtime_checkable
class ScenarioModel(Protocol):
    """Anything that turns a system prompt and a user prompt into text."""

    def complete(self, system: str, prompt: str) -> ModelReply: ...


class OpenAIEndpointModel:
    """A :class:`ScenarioModel` over one OpenAI-compatible endpoint."""

    def __init__(
        self, base_url: str, model: str, api_key: str = "none", timeout: float = 60.0
    ) -> None:
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)

    def complete(self, system: str, prompt: str) -> ModelReply:
        from openai import OpenAIError

        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": prompt},
                ],
                temperature=0,
            )
        except OpenAIError as exc:
            raise ModelError(
                f"模型服务调用失败：{type(exc).__name__}", hint="检查模型端点配置或稍后重试"
            ) from exc
        text = response.choices[0].message.content or ""
        log.info("scenario model call model=%s chars=%d", response.model, len(text))
        return ModelReply(text=text, model=response.model or self.model)


class GatewayModel:
    """A :class:`ScenarioModel` over :class:`shuzhi.gateway.Gateway`: personal data is masked before
    the prompt leaves the trust zone, and every call is routed and metered under the scenario."""

    def __init__(
        self,
        gateway: Any,
        scenario_id: str,
        *,
        department_id: int | None = None,
        model: str | None = None,
    ) -> None:
        self._gateway = gateway
        self._scenario_id = scenario_id
        self._department_id = department_id
        self._model = model

    def complete(self, system: str, prompt: str) -> ModelReply:
        from shuzhi.gateway import Caller, ChatRequest

        request = ChatRequest(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            model=self._model,
            temperature=0,
            caller=Caller("scenario", self._scenario_id, self._department_id),
        )
        result = self._gateway.chat_sync(request)
        return ModelReply(text=result.content, model=result.model)


def as_model(
    gateway: Any, scenario_id: str, department_id: int | None = None
) -> ScenarioModel | None:
    """What a run should call: the given model, a gateway wrapped as one, or None (offline)."""
    if gateway is None:
        return None
    if isinstance(gateway, ScenarioModel):
        return gateway
    if hasattr(gateway, "chat_sync"):
        available = getattr(gateway, "available", None)
        if available is not None and not available():
            return None
        return GatewayModel(gateway, scenario_id, department_id=department_id)
    raise TypeError(f"gateway must be a ScenarioModel or a shuzhi.gateway.Gateway, got {gateway!r}")
