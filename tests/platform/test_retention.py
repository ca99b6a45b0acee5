"""Keeping times of citizens' conversations and uploaded batch files (PIPL Art. 19, 47)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.platform import review
from shuzhi.platform.retention import apply_retention, uploads_folder
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord, Conversation, Message

DAY = timedelta(days=1)


def _conversation(
    session: Session, public_id: str, idle_days: int, opened_days: int | None = None
) -> int:
    """A conversation opened ``opened_days`` ago whose last turn was ``idle_days`` ago."""
    opened = utcnow() - (opened_days if opened_days is not None else idle_days) * DAY
    talk = Conversation(public_id=public_id, vault={"[手机1]": "13800138000"}, created_at=opened)
    session.add(talk)
    session.flush()
    turn = Message(conversation_id=talk.id, role="user", author_kind="human", content="…")
    turn.created_at = utcnow() - idle_days * DAY
    session.add(turn)
    session.flush()
    talk.updated_at = opened  # what a turn leaves it at: turns do not touch the row
    return talk.id


def _upload(folder: Path, name: str, age_days: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("留言详情\n路灯坏了\n", encoding="utf-8")
    stamp = (utcnow() - age_days * DAY).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_idle_conversations_go_with_their_messages_unless_a_person_still_has_to_answer(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        old = _conversation(session, "old", idle_days=200)
        waiting = _conversation(session, "waiting", idle_days=300)
        decided = _conversation(session, "decided", idle_days=300)
        recent = _conversation(session, "recent", idle_days=10)
        ongoing = _conversation(session, "ongoing", idle_days=1, opened_days=400)
        for talk, status in ((waiting, "pending"), (decided, "accepted")):
            task = review.create_review_task(
                session, None, "employee_handoff", "conversation", talk, "转人工", {},
                conversation_id=talk,
            )  # fmt: skip
            task.status = status
    with db.session() as session:
        report = apply_retention(session, settings)
    assert report.conversations == 2 and report.conversation_keep_days == 180
    with db.session() as session:
        left = set(session.scalars(select(Conversation.id)))
        messages = set(session.scalars(select(Message.conversation_id)))
        assert left == {waiting, recent, ongoing} and messages == left, (old, decided)
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "privacy.retention")
        ).one()
        assert record.detail["conversations"] == 2 and "13800138000" not in str(record.detail)


def test_old_uploads_go_unless_an_unfinished_job_still_reads_them(
    db: Database, settings: Settings
) -> None:
    folder = uploads_folder(settings)
    old = _upload(folder, "a1-old.csv", age_days=40)
    queued = _upload(folder, "b2-queued.csv", age_days=40)
    done = _upload(folder, "c3-done.csv", age_days=40)
    fresh = _upload(folder, "d4-fresh.csv", age_days=3)
    scratch = folder / ".incoming-x"
    scratch.mkdir()
    with db.session() as session:
        jobs.submit(session, "hotline.batch", {"input": str(queued)}, created_by="clerk")
        finished = jobs.submit(session, "hotline.batch", {"input": str(done)}, created_by="clerk")
        finished.status = "succeeded"
    with db.session() as session:
        report = apply_retention(session, settings)
    assert report.uploads == 2
    assert sorted(p.name for p in folder.iterdir()) == [".incoming-x", queued.name, fresh.name]
    assert not old.exists()


def test_zero_keeps_forever_and_the_daily_job_applies_the_settings(
    db: Database, settings: Settings
) -> None:
    folder = uploads_folder(settings)
    _upload(folder, "a1-old.csv", age_days=400)
    with db.session() as session:
        _conversation(session, "old", idle_days=400)
    forever = settings.model_copy(update={"conversation_keep_days": 0, "upload_keep_days": 0})
    job = jobs.run_inline(db, "privacy.retention", {}, settings=forever)
    assert job.status == "succeeded" and job.result is not None
    assert (job.result["conversations"], job.result["uploads"]) == (0, 0)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1

    job = jobs.run_inline(db, "privacy.retention", {}, settings=settings)
    assert job.result == {
        "conversations": 1,
        "uploads": 1,
        "conversation_keep_days": 180,
        "upload_keep_days": 30,
    }
    assert "privacy-retention" in {p.name for p in jobs.scheduler.declared()}


@pytest.mark.parametrize("days", [-1, 800_000])
def test_a_keeping_time_outside_a_century_is_refused(days: int) -> None:
    """800,000 days overflowed the date arithmetic and failed the daily job every day."""
    with pytest.raises(ValidationError):
        Settings(conversation_keep_days=days)
    with pytest.raises(ValidationError):
        Settings(upload_keep_days=days)
