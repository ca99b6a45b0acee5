"""The AI data officer's records: datasets, their fields and grades, quality rules and runs,
catalogue entries and verified question → SQL templates.

The data itself is never stored here: each dataset lives as a Parquet file in the data directory
(``Dataset.storage_path``); these tables hold what people decide about it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class Dataset(Timestamped, Base):
    """A registered table: where it came from, where its Parquet copy is, and its last profile."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(500), default="")
    encoding: Mapped[str | None] = mapped_column(String(32))
    storage_path: Mapped[str] = mapped_column(String(500))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[list[str]] = mapped_column(JSONType, default=list)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    profiled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_by: Mapped[str] = mapped_column(String(128), default="")


class DatasetField(Base):
    """One column: detected kind, the AI's proposed grade with reasons, the confirmed grade."""

    __tablename__ = "dataset_fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    inferred_type: Mapped[str] = mapped_column(String(16), default="text")
    meaning: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str | None] = mapped_column(String(32))
    proposed_grade: Mapped[str] = mapped_column(String(16), default="general")
    grade_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grade: Mapped[str | None] = mapped_column(String(16))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(128))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QualityRuleRow(Timestamped, Base):
    """A quality rule as data; ``source`` says whether the AI proposed it or a person wrote it."""

    __tablename__ = "quality_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    column: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16), default="ai")


class QualityRun(Timestamped, Base):
    """One evaluation of a dataset's rules: the score and, per rule, counts and masked rows."""

    __tablename__ = "quality_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=100.0)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    triggered_by: Mapped[str] = mapped_column(String(128), default="")


class CatalogueEntry(Timestamped, Base):
    """A dataset's data catalogue entry (数据目录): drafted by the AI, confirmed by a person."""

    __tablename__ = "catalogue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    update_cycle: Mapped[str] = mapped_column(String(32), default="")
    sharing: Mapped[str] = mapped_column(String(32), default="conditional")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    drafted_by: Mapped[str] = mapped_column(String(16), default="ai")
    mode: Mapped[str] = mapped_column(String(16), default="offline")
    model: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(128))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SqlTemplateRow(Timestamped, Base):
    """A question → SQL template; only approved ones answer questions offline."""

    __tablename__ = "sql_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(500))
    sql: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    proposed_by: Mapped[str] = mapped_column(String(128), default="")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_name: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uses: Mapped[int] = mapped_column(Integer, default=0)
