"""Usage records: one row per gateway call with tokens, latency, cost and outcome, no text.

The Interim Measures for Generative AI Services (2023) Art. 11 ask providers not to keep
identifiable inputs without need, so a usage row says who called what and what it cost, and
nothing of what was said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from shuzhi.gateway.catalog import EndpointConfig
from shuzhi.gateway.types import Caller, Usage
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import ModelUsage

log = logging.getLogger(__name__)


def cost_of(usage: Usage, endpoint: EndpointConfig | None) -> float:
    """Price per million tokens, with cache hits at the cached-input price (DeepSeek bills so)."""
    if endpoint is None:
        return 0.0
    total = (
        usage.cache_miss_tokens * endpoint.price_input
        + usage.cached_tokens * endpoint.price_cached_input
        + usage.completion_tokens * endpoint.price_output
    )
    return round(total / 1_000_000, 8)


def usage_from(raw: Any) -> Usage:
    """Read an OpenAI or DeepSeek usage object (``prompt_cache_hit_tokens`` when present)."""
    if raw is None:
        return Usage()
    extra = getattr(raw, "model_extra", None) or {}
    cached = extra.get("prompt_cache_hit_tokens")
    if cached is None:
        details = getattr(raw, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) or 0
    completion_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        cached_tokens=int(cached or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        reasoning_tokens=int(getattr(completion_details, "reasoning_tokens", 0) or 0),
    )


@dataclass
class UsageRecord:
    request_id: str
    operation: str
    alias: str | None
    caller: Caller
    endpoint: EndpointConfig | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    outcome: str = "ok"
    error: str | None = None
    masked_items: int = 0
    attempts: int = 0
    stream: bool = False

    def to_row(self) -> ModelUsage:
        return ModelUsage(
            at=utcnow(),
            request_id=self.request_id,
            operation=self.operation,
            alias=self.alias,
            endpoint=self.endpoint.name if self.endpoint else None,
            model=self.model or (self.endpoint.model if self.endpoint else None),
            caller_kind=self.caller.kind[:16],
            caller_id=(self.caller.id or "")[:128] or None,
            department_id=self.caller.department_id,
            prompt_tokens=self.usage.prompt_tokens,
            cached_tokens=self.usage.cached_tokens,
            completion_tokens=self.usage.completion_tokens,
            reasoning_tokens=self.usage.reasoning_tokens,
            latency_ms=round(self.latency_ms, 3),
            first_token_ms=self.first_token_ms,
            cost=cost_of(self.usage, self.endpoint),
            currency=self.endpoint.currency if self.endpoint else None,
            outcome=self.outcome,
            error=self.error[:2000] if self.error else None,
            masked_items=self.masked_items,
            attempts=self.attempts,
            stream=self.stream,
        )


def write_usage(db: Database, record: UsageRecord) -> None:
    """Store one record. A database failure is logged, never turned into a lost answer."""
    try:
        with db.session() as session:
            session.add(record.to_row())
    except Exception:
        log.exception("could not store the usage record of request %s", record.request_id)
