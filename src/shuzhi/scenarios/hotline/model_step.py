"""The model step of dispatch, through the gateway: the message, similar past cases and the
candidate categories go to the model, which names one category with a confidence.

The gateway masks personal data before the prompt leaves and records usage; a failing endpoint
makes this step return ``None`` and the dispatch stays with the local classifier (offline).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from shuzhi.errors import ModelError
from shuzhi.gateway import Caller, ChatRequest, Gateway
from shuzhi.scenarios.hotline.dispatch import ModelChoice

log = logging.getLogger(__name__)

SYSTEM = (
    "你是12345市民服务热线的派单员。根据市民留言、相似的历史工单及其分类，"
    "从候选分类中选出唯一最合适的一个。只输出 JSON："
    '{"category": "候选分类之一", "confidence": 0到1之间的小数, "reason": "一句话理由"}'
)
_JSON = re.compile(r"\{.*\}", re.S)


def build_prompt(
    text: str, similar: Sequence[tuple[str, str]], candidates: Sequence[str]
) -> list[dict[str, Any]]:
    cases = "\n".join(f"- [{label}] {case[:200]}" for case, label in similar) or "（无）"
    user = (
        f"候选分类：{'、'.join(candidates)}\n\n相似历史工单：\n{cases}\n\n市民留言：\n{text[:1500]}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_choice(content: str, candidates: Sequence[str], model: str) -> ModelChoice | None:
    """The model's answer as a choice, or None when it is not JSON naming a candidate."""
    found = _JSON.search(content)
    if not found:
        return None
    try:
        data = json.loads(found.group())
        category = str(data["category"]).strip()
        confidence = min(1.0, max(0.0, float(data.get("confidence", 0.5))))
    except (ValueError, KeyError, TypeError):
        return None
    if category not in candidates:
        return None
    return ModelChoice(category, confidence, model, str(data.get("reason", ""))[:200])


class GatewayModelStep:
    def __init__(self, gateway: Gateway, model: str | None = None) -> None:
        self.gateway = gateway
        self.model = model

    def choose(
        self, masked_text: str, similar: Sequence[tuple[str, str]], candidates: Sequence[str]
    ) -> ModelChoice | None:
        request = ChatRequest(
            messages=build_prompt(masked_text, similar, candidates),
            model=self.model,
            temperature=0.0,
            caller=Caller("scenario", "hotline-dispatch"),
        )
        try:
            result = self.gateway.chat_sync(request)
        except ModelError as exc:
            log.warning("hotline model step failed, dispatching offline: %s", exc.code)
            return None
        return parse_choice(result.content, candidates, result.model)


def reply_writer(gateway: Gateway, model: str | None = None) -> Callable[[str], tuple[str, str]]:
    """A ``writer`` for :func:`shuzhi.scenarios.hotline.reply.draft_reply` through the gateway."""

    def write(prompt: str) -> tuple[str, str]:
        request = ChatRequest(
            messages=[{"role": "user", "content": prompt}],
            model=model,
            temperature=0.3,
            caller=Caller("scenario", "hotline-reply"),
        )
        result = gateway.chat_sync(request)
        return result.content, result.model

    return write
