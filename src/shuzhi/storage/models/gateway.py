"""The model base's configuration: model endpoints and the aliases that route to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.db import utcnow
from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class ModelEndpoint(Timestamped, Base):
    """One model served over the OpenAI protocol (DeepSeek API, a city vLLM, Ollama ...).

    The API key is kept either encrypted (``api_key_encrypted``, Fernet) or as the name of an
    environment variable (``api_key_env``); never in plain text. ``trust_zone`` says whether the
    endpoint sits inside the government network; text leaving for an ``outside`` endpoint is masked.
    """

    __tablename__ = "model_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="chat")
    trust_zone: Mapped[str] = mapped_column(String(16), default="outside")
    mask: Mapped[bool | None] = mapped_column()
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_env: Mapped[str | None] = mapped_column(String(128))
    max_concurrency: Mapped[int] = mapped_column(Integer, default=8)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float] = mapped_column(Float, default=60.0)
    max_retries: Mapped[int] = mapped_column(Integer, default=2)
    price_input: Mapped[float] = mapped_column(Float, default=0.0)
    price_cached_input: Mapped[float] = mapped_column(Float, default=0.0)
    price_output: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    extra_body: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ModelAlias(Timestamped, Base):
    """A stable name callers use (``gov-chat``) and the ordered endpoints it falls back through."""

    __tablename__ = "model_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="chat")
    endpoints: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
