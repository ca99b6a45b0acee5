from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType


class Scenario(Timestamped, Base):
    """A scenario as installed in this deployment (shipped, imported from a pack, or authored)."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(96), unique=True)
    field: Mapped[str] = mapped_column(String(32), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    employee_slug: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(16), default="builtin")
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ScenarioRun(Timestamped, Base):
    """One run of a scenario: inputs, outputs, which rules fired on what law, and who decided.

    ``decided_by`` is ``ai`` until a named reviewer decides the linked review task.
    """

    __tablename__ = "scenario_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    scenario_slug: Mapped[str] = mapped_column(String(96), index=True)
    scenario_version: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(32), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    employee_slug: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    mode: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(128))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_task_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), default="done", index=True)
    decided_by: Mapped[str] = mapped_column(String(16), default="ai")
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
