from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class Job(Timestamped, Base):
    """A long operation: persisted so a crash or restart neither loses nor repeats it."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None] = mapped_column(String(128))
    department_id: Mapped[int | None] = mapped_column(Integer)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobItem(Base):
    """One finished unit of a job; the unique key is what makes a resumed job skip it."""

    __tablename__ = "job_items"
    __table_args__ = (UniqueConstraint("job_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="done")
    result: Mapped[Any] = mapped_column(JSONType, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(128))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobSchedule(Timestamped, Base):
    """A periodic job: the scheduler submits ``kind`` every ``interval_seconds``."""

    __tablename__ = "job_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(default=True)
    last_job_id: Mapped[int | None] = mapped_column(Integer)


class JobLease(Base):
    """A named lease (e.g. the scheduler's leader lease): held by one process until it expires."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
