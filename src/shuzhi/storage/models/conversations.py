from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.db import utcnow
from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class Conversation(Timestamped, Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    employee_version: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(32), default="api")
    status: Mapped[str] = mapped_column(String(16), default="open")
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # The authenticated citizen (e.g. a hashed unified-identity subject), bound by the surface
    # that authenticated them; skills for "own records" read it, never model-supplied arguments.
    citizen_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    # The masking vault, so the same phone number gets the same placeholder in every turn.
    vault: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Message(Timestamped, Base):
    """One turn. ``author_kind`` says whether a human, the AI or the system wrote it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    author_kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    # DeepSeek-R1's reasoning is kept for the record but never sent back in the next prompt.
    reasoning: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16), default="model")
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
