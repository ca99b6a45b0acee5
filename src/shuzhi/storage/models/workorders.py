from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class WorkOrder(Timestamped, Base):
    """A 工单: one citizen request, classified, dispatched and answered."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    source_ref: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    requester_masked: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    category: Mapped[str | None] = mapped_column(String(128), index=True)
    category_path: Mapped[list[str]] = mapped_column(JSONType, default=list)
    handling_unit: Mapped[str | None] = mapped_column(String(200))
    order_type: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    deadline: Mapped[date | None] = mapped_column(Date)
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(24), default="new", index=True)
    decided_by: Mapped[str] = mapped_column(String(16), default="ai")
    model: Mapped[str | None] = mapped_column(String(128))
    reply: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # How the proposal came to be ("offline" classifier and rules, or "model"), what it cites,
    # and the rest of the AI's proposal (candidates, demands, deadline basis) for the reviewer.
    mode: Mapped[str] = mapped_column(String(16), default="offline")
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reply_status: Mapped[str | None] = mapped_column(String(16))
