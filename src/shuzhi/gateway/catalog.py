"""What the gateway routes over: endpoints and aliases, read from the database and the environment.

The catalog is an immutable snapshot with plain keys resolved, built once and cached by the
gateway, so a model call reads no table. Endpoints can also come from the environment, for the
simplest installation ("with DeepSeek, set these three")::

    SHUZHI_MODEL_BASE_URL=https://api.deepseek.com
    SHUZHI_MODEL_NAME=deepseek-chat
    SHUZHI_MODEL_API_KEY=sk-...

which creates the endpoint ``env-chat`` and the default alias ``gov-chat``. Optional:
``SHUZHI_MODEL_REASONER_NAME`` (endpoint ``env-reasoner``, alias ``gov-reasoner``),
``SHUZHI_MODEL_EMBEDDING_NAME`` (``env-embedding``, alias ``gov-embedding``) and
``SHUZHI_MODEL_TRUST_ZONE`` (``outside`` unless set to ``inside``). Database entries with the same
names win over the environment. ``SHUZHI_MODEL_MASK_PATTERNS`` (JSON, name → regex) adds patterns
to what is masked before text leaves for an outside endpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError
from shuzhi.gateway.keys import resolve_api_key
from shuzhi.storage.models import ModelAlias, ModelEndpoint

log = logging.getLogger(__name__)

CHAT_KINDS = frozenset({"chat", "reasoning"})


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    base_url: str
    model: str
    kind: str = "chat"
    trust_zone: str = "outside"
    mask: bool = True
    api_key: str | None = field(default=None, repr=False)
    key_error: str | None = None
    max_concurrency: int = 8
    rpm_limit: int | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    price_input: float = 0.0
    price_cached_input: float = 0.0
    price_output: float = 0.0
    currency: str = "CNY"
    extra_body: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    source: str = "db"

    def serves(self, kind: str) -> bool:
        if kind == "chat":
            return self.kind in CHAT_KINDS
        return self.kind == kind


@dataclass(frozen=True)
class AliasConfig:
    name: str
    kind: str
    endpoints: tuple[str, ...]
    description: str = ""
    is_default: bool = False
    source: str = "db"


@dataclass(frozen=True)
class Catalog:
    endpoints: dict[str, EndpointConfig]
    aliases: dict[str, AliasConfig]

    def enabled(self, kind: str) -> list[EndpointConfig]:
        return [e for e in self.endpoints.values() if e.enabled and e.serves(kind)]

    def default_alias(self, kind: str) -> AliasConfig | None:
        wanted = {"chat": CHAT_KINDS}.get(kind, frozenset({kind}))
        # Aliases stored in the database win over those declared by environment variables.
        candidates = sorted(
            (a for a in self.aliases.values() if a.kind in wanted), key=lambda a: a.source == "env"
        )
        defaults = [a for a in candidates if a.is_default]
        chosen = defaults or candidates
        return chosen[0] if chosen else None


class ModelBaseSettings(BaseSettings):
    """The ``SHUZHI_MODEL_*`` variables that declare endpoints without touching the database."""

    model_config = SettingsConfigDict(env_prefix="SHUZHI_MODEL_", extra="ignore")

    base_url: str | None = None
    name: str | None = None
    api_key: str | None = None
    reasoner_name: str | None = None
    embedding_name: str | None = None
    trust_zone: str = "outside"
    timeout_s: float = 120.0
    # Extra masking patterns, name → regular expression, e.g. {"工号": "GH\\d{6}"} (JSON).
    mask_patterns: dict[str, str] = {}


def env_catalog() -> tuple[list[EndpointConfig], list[AliasConfig]]:
    env = ModelBaseSettings()
    if not env.base_url:
        return [], []
    zone = "inside" if env.trust_zone.strip().lower() == "inside" else "outside"
    wanted = [
        ("env-chat", env.name, "chat", "gov-chat"),
        ("env-reasoner", env.reasoner_name, "reasoning", "gov-reasoner"),
        ("env-embedding", env.embedding_name, "embedding", "gov-embedding"),
    ]
    endpoints, aliases = [], []
    for name, model, kind, alias in wanted:
        if not model:
            continue
        endpoints.append(
            EndpointConfig(
                name=name,
                base_url=env.base_url,
                model=model,
                kind=kind,
                trust_zone=zone,
                mask=zone == "outside",
                api_key=env.api_key,
                timeout_s=env.timeout_s,
                source="env",
            )
        )
        aliases.append(AliasConfig(alias, kind, (name,), "来自环境变量", True, source="env"))
    return endpoints, aliases


def endpoint_config(row: ModelEndpoint, settings: Settings) -> EndpointConfig:
    api_key, key_error = None, None
    try:
        api_key = resolve_api_key(settings, row.name, row.api_key_encrypted, row.api_key_env)
    except ShuzhiError as exc:
        key_error = str(exc)
        log.warning("endpoint %s has an unusable API key; calls to it will fail", row.name)
    return EndpointConfig(
        name=row.name,
        base_url=row.base_url,
        model=row.model,
        kind=row.kind,
        trust_zone=row.trust_zone,
        mask=row.mask if row.mask is not None else row.trust_zone != "inside",
        api_key=api_key,
        key_error=key_error,
        max_concurrency=row.max_concurrency,
        rpm_limit=row.rpm_limit,
        timeout_s=row.timeout_s,
        max_retries=row.max_retries,
        price_input=row.price_input,
        price_cached_input=row.price_cached_input,
        price_output=row.price_output,
        currency=row.currency,
        extra_body=dict(row.extra_body or {}),
        enabled=row.enabled,
    )


def load_catalog(session: Session, settings: Settings, *, include_env: bool = True) -> Catalog:
    endpoints: dict[str, EndpointConfig] = {}
    aliases: dict[str, AliasConfig] = {}
    if include_env:
        env_endpoints, env_aliases = env_catalog()
        endpoints.update((e.name, e) for e in env_endpoints)
        aliases.update((a.name, a) for a in env_aliases)
    for row in session.scalars(select(ModelEndpoint).order_by(ModelEndpoint.id)):
        endpoints[row.name] = endpoint_config(row, settings)
    for alias in session.scalars(select(ModelAlias).order_by(ModelAlias.id)):
        aliases[alias.name] = AliasConfig(
            alias.name, alias.kind, tuple(alias.endpoints), alias.description, alias.is_default
        )
    return Catalog(endpoints, aliases)
