from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.models.base import Base
from shuzhi.storage.types import UTCDateTime


class ModelUsage(Base):
    """One model call through the gateway: who asked, what it cost, how it ended. No prompt text."""

    __tablename__ = "model_usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    alias: Mapped[str | None] = mapped_column(String(128))
    endpoint: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    caller_kind: Mapped[str] = mapped_column(String(16), default="api")
    caller_id: Mapped[str | None] = mapped_column(String(128))
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    masked_items: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # Added by the gateway (migration 0002).
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    operation: Mapped[str] = mapped_column(String(16), default="chat", server_default="chat")
    stream: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_token_ms: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
